"""`scripts/screenshots`: PNGs of the demo in headless Chromium, for the README."""

import argparse
import asyncio
import base64
from collections.abc import AsyncIterator, Sequence
import contextlib
from dataclasses import dataclass
import itertools
import json
import os
from pathlib import Path
import shutil
import sys
import tempfile

import aiohttp

from demo.hass import as_object, as_str
from demo.processes import Children, DemoError, free_port, kill_leftovers, until
from demo.run import DEMO_DIR, DOMAIN, REPO, running_demo
from simulators import VENDORS

CHROMIUM = "/usr/bin/chromium"
# No network but the demo's, nothing of Google's, no GPU, no sandbox (we may be root).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
IMAGES = REPO / "docs" / "images"
# Finds an element by tag name through every shadow root (the frontend is made of them).
DEEP_FIND = """
(selector) => {
  const find = (root) => {
    const hit = root.querySelector(selector);
    if (hit) return hit;
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) {
        const inner = find(el.shadowRoot);
        if (inner) return inner;
      }
    }
    return null;
  };
  return find(document);
}
"""


# What an `act` script has at hand: find (DEEP_FIND) and wait(test, what), which polls `test`
# until it returns something true, for at most 30 s (else it throws, naming `what`).
ACT_TIMEOUT = 150.0
ACT = """
async () => {{
  const find = {find};
  const wait = async (test, what) => {{
    for (let i = 0; i < 60; i++) {{
      const found = test();
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }}
    throw new Error('waited in vain for ' + what);
  }};
  {body}
  return 'ok';
}}
"""
# The add-integration dialog with mistakes on purpose (a vendor's form_with_errors): the form
# shows the errors under their fields and keeps what was typed.
CONFIG_FORM_WITH_ERRORS = """
  const ask = await wait(() => find('dialog-box'), 'the question whether to set it up');
  const ok = await wait(
    () => [...ask.shadowRoot.querySelectorAll('ha-button')].find(
      (button) => button.textContent.trim() === 'OK'),
    'its OK');
  ok.click();
  const menu = await wait(() => find('step-flow-menu'), 'the menu of vendors');
  const option = await wait(
    () => [...menu.shadowRoot.querySelectorAll('*')].find((el) => el.step === {step}),
    'the option ' + {step});
  option.click();
  const step = await wait(() => find('step-flow-form'), 'its form');
  const form = await wait(() => step.shadowRoot.querySelector('ha-form'), 'its fields');
  form.dispatchEvent(new CustomEvent('value-changed', {{detail: {{value: {{...form.data, ...{values}}}}}}}));
  await new Promise((resolve) => setTimeout(resolve, 500));
  step._submitStep();
  await wait(() => {{
    const shown = find('step-flow-form');
    return shown && shown.step && Object.keys(shown.step.errors || {{}}).length >= 2;
  }}, 'the errors');
"""
# Settings > Developer tools > Actions with an action chosen and filled in, in the UI mode.
ACTION_FORM = """
  const panel = find('tools-action');
  panel._yamlMode = false;
  panel._serviceData = {action};
  await wait(() => find('ha-service-control') && find('ha-selector-number'), 'its fields');
"""


@dataclass(frozen=True)
class Shot:
    """One picture: which page, what must be on it before it is taken, the window size.

    `act`: JavaScript (the body of ACT) run once the page is ready, to open what is shown.
    """

    file: str
    path: str
    ready: tuple[str, ...]
    width: int
    height: int
    act: str | None = None


def say(text: str) -> None:
    """Tell the person at the terminal, at once."""
    sys.stdout.write(f"screenshots: {text}\n")
    sys.stdout.flush()


class Page:
    """One Chromium tab, driven through the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def call(
        self, method: str, answer_within: float = 60, **params: object
    ) -> dict[str, object]:
        """Send one DevTools command and return its result (`answer_within` seconds)."""
        message_id = next(self._ids)
        await self._ws.send_json({"id": message_id, "method": method, "params": params})
        while True:
            message = await self._ws.receive(timeout=answer_within)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise DemoError(f"Chromium closed the DevTools connection: {message.type!r}")
            answer = as_object(message.json(), "DevTools message")
            if answer.get("id") == message_id:
                break
        if "error" in answer:
            raise DemoError(f"Chromium: {method}: {answer['error']}")
        return as_object(answer.get("result", {}), method)

    async def has(self, tag: str) -> bool:
        """Return whether an element matching `tag` is on the page (shadow roots included).

        False while the page is being replaced: Chromium drops a question asked of the old one.
        """
        try:
            result = await self.call(
                "Runtime.evaluate",
                expression=f"({DEEP_FIND})({json.dumps(tag)}) !== null",
                returnByValue=True,
            )
        except DemoError as err:
            if "navigated or closed" in str(err):
                return False
            raise
        return as_object(result.get("result"), "evaluate").get("value") is True

    async def act(self, body: str) -> None:
        """Run `body` in the page (see ACT); its error (a step that never came) is ours."""
        result = await self.call(
            "Runtime.evaluate",
            answer_within=ACT_TIMEOUT,
            expression=f"({ACT.format(find=DEEP_FIND, body=body)})()",
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            details = as_object(result["exceptionDetails"], "exception")
            thrown = as_object(details.get("exception", {}), "exception")
            raise DemoError(f"in the page: {thrown.get('description') or details.get('text')}")

    async def text(self) -> str:
        """Return the page's visible text, shadow roots included (for checking its content)."""
        result = await self.call(
            "Runtime.evaluate",
            expression="""(() => {
              const parts = [];
              const walk = (root) => {
                for (const el of root.querySelectorAll('*')) {
                  if (el.shadowRoot) walk(el.shadowRoot);
                }
                parts.push(root.textContent || '');
              };
              walk(document);
              return parts.join(' ');
            })()""",
            returnByValue=True,
        )
        return str(as_object(result.get("result"), "evaluate").get("value", ""))


@contextlib.asynccontextmanager
async def chromium(session: aiohttp.ClientSession) -> AsyncIterator[Page]:
    """Start headless Chromium with a fresh profile and yield one tab of it."""
    if not await asyncio.to_thread(Path(CHROMIUM).exists):
        raise DemoError(f"{CHROMIUM} is missing: run scripts/screenshots (it installs chromium)")
    with tempfile.TemporaryDirectory(prefix="demo-chromium-") as profile:
        async with Children() as children:
            await children.start(
                "Chromium",
                [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                log=Path(profile) / "chromium.log",
                cwd=Path(profile),
            )
            port_file = Path(profile) / "DevToolsActivePort"

            async def port() -> str | None:
                text = port_file.read_text() if port_file.exists() else ""
                return text.splitlines()[0] if text.count("\n") >= 1 else None

            devtools = await until("Chromium to start", 60, children.check_alive, port)
            async with session.put(f"http://127.0.0.1:{devtools}/json/new?about:blank") as resp:
                target = as_object(await resp.json(), "DevTools target")
            url = as_str(target.get("webSocketDebuggerUrl"), "webSocketDebuggerUrl")
            async with session.ws_connect(url, max_msg_size=0) as ws:
                page = Page(ws)
                await page.call("Page.enable")
                yield page


async def take(page: Page, base_url: str, shot: Shot, check: CheckAlive) -> Path:
    """Open the shot's page, wait until it shows what it must, and save a PNG."""
    await page.call(
        "Emulation.setDeviceMetricsOverride",
        width=shot.width,
        height=shot.height,
        deviceScaleFactor=1,
        mobile=False,
    )
    await page.call("Page.navigate", url=f"{base_url}{shot.path}")
    for tag in shot.ready:

        async def present(tag: str = tag) -> bool | None:
            return True if await page.has(tag) else None

        await until(f"<{tag}> on {shot.path}", 90, check, present, interval=0.5)
    if shot.act is not None:
        await page.act(shot.act)
    # Cards fetch history and statistics after they appear; charts animate in.
    await asyncio.sleep(6)
    if "/auth/" in await page.text() or await page.has("ha-authorize"):
        raise DemoError(f"{shot.path}: Chromium was not logged in")
    data = await page.call("Page.captureScreenshot", format="png")
    target = IMAGES / shot.file
    target.write_bytes(base64.b64decode(as_str(data.get("data"), "screenshot")))
    return target


class CheckAlive:
    """Raises when a process of a demo this script started has died."""

    def __init__(self, children: Children | None) -> None:
        self._children = children

    def __call__(self) -> None:
        """Raise DemoError when a child died."""
        if self._children is not None:
            self._children.check_alive()


def running_demo_state() -> dict[str, object] | None:
    """Return demo.json of a `scripts/demo` that is still running, or None."""
    state_file = DEMO_DIR / "run" / "demo.json"
    if not state_file.exists():
        return None
    state = as_object(json.loads(state_file.read_text()), "demo.json")
    pid = state.get("pid")
    if not isinstance(pid, int) or not Path(f"/proc/{pid}").exists():
        return None
    return state


def shots(devices: dict[str, object]) -> list[Shot]:
    """Return the README's pictures for a demo with these devices (identifier -> id)."""
    device_page = ("ha-config-device-page", "ha-device-entities-card")
    pictures = []
    for vendor in VENDORS.values():
        if vendor.demo.screenshot is not None:
            file, identifier = vendor.demo.screenshot
            device = as_str(devices.get(identifier), f"{vendor.name} device")
            pictures.append(Shot(file, f"/config/devices/device/{device}", device_page, 1400, 1650))
    pictures.append(Shot("energy-dashboard.png", "/energy", ("ha-panel-energy",), 1400, 1100))
    # The integration's page: its brand icon, the entries and the chargers and groups in them.
    pictures.append(
        Shot(
            "integration-page.png",
            f"/config/integrations/integration/{DOMAIN}",
            ("ha-config-integration-page",),
            1400,
            1300,
        )
    )
    form = next(
        (
            (key, vendor.demo.form_with_errors)
            for key, vendor in VENDORS.items()
            if vendor.demo.form_with_errors
        ),
        None,
    )
    if form is not None:
        key, values = form
        pictures.append(
            Shot(
                "config-form-error.png",
                f"/config/integrations/dashboard/add?domain={DOMAIN}",
                ("ha-config-integrations-dashboard",),
                1400,
                1000,
                CONFIG_FORM_WITH_ERRORS.format(step=json.dumps(key), values=json.dumps(values)),
            )
        )
    action = next(
        (vendor.demo.action_form for vendor in VENDORS.values() if vendor.demo.action_form), None
    )
    if action is not None:
        name, identifier, data = action
        device = as_str(devices.get(identifier), identifier)
        called = {"action": f"{DOMAIN}.{name}", "target": {}, "data": {"device_id": device, **data}}
        pictures.append(
            Shot(
                "action-form.png",
                "/config/tools/action",
                ("tools-action",),
                1400,
                1000,
                ACTION_FORM.format(action=json.dumps(called)),
            )
        )
    return pictures


async def capture(base_url: str, devices: dict[str, object], check: CheckAlive) -> None:
    """Take every picture against the demo at base_url."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    async with aiohttp.ClientSession() as session, chromium(session) as page:
        for shot in shots(devices):
            path = await take(page, base_url, shot, check)
            say(f"wrote {path.relative_to(REPO)}")


async def _run(args: argparse.Namespace) -> int:
    state = None if args.own_demo else running_demo_state()
    if state is not None:
        url = as_str(state.get("url"), "url")
        say(f"using the demo running on {url}")
        await capture(url, as_object(state.get("devices"), "devices"), CheckAlive(None))
        return 0
    say("no demo is running: starting one headless for the pictures")
    workdir = DEMO_DIR / f"screenshots-{os.getpid()}"
    async with running_demo(workdir, port=free_port(), default_sim_ports=False, say=say) as demo:
        if args.wait:
            say(f"letting the chargers charge for {args.wait} s first")
            await asyncio.sleep(args.wait)
        devices: dict[str, object] = {d.identifier: d.id for d in demo.devices}
        await capture(demo.hass.base_url, devices, CheckAlive(demo.children))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, take the pictures, leave no process behind."""
    parser = argparse.ArgumentParser(prog="scripts/screenshots", description=__doc__)
    parser.add_argument(
        "--own-demo",
        action="store_true",
        help="start a headless demo even when scripts/demo is running",
    )
    parser.add_argument(
        "--wait",
        type=int,
        default=0,
        help="with a demo of its own: seconds to let it run before the pictures",
    )
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except DemoError as err:
        sys.stderr.write(f"screenshots: FAILED: {err}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        kill_leftovers()


if __name__ == "__main__":
    sys.exit(main())
