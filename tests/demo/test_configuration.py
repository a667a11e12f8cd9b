"""The demo's Home Assistant configuration: local only, password-less only for this machine."""

import json
from pathlib import Path
from typing import Any

from homeassistant.components import onboarding
from homeassistant.components.http import config as http
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.yaml import load_yaml_dict
import pytest

from demo import requirements, run
from demo.fleet import expected_devices
from demo.processes import DemoError
from demo.run import DOMAIN, REPO, write_configuration


def test_configuration_is_local_and_runs_this_working_tree(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    write_configuration(config_dir, 8999)

    config = load_yaml_dict(config_dir / "configuration.yaml")
    assert "http" not in config  # in .storage/http: see the next test
    trusted, password = config["homeassistant"]["auth_providers"]
    assert trusted == {
        "type": "trusted_networks",
        "trusted_networks": ["127.0.0.1/32"],
        "allow_bypass_login": True,
    }
    assert password == {"type": "homeassistant"}
    # No default_config: it would start cloud, discovery and Bluetooth.
    assert "default_config" not in config
    assert {"frontend", "energy", "history", "recorder", "automation"} <= set(config)
    assert config["automation"] == []  # automations.yaml, filled through the editor's API
    link = config_dir / "custom_components" / DOMAIN
    assert link.is_symlink()
    assert link.resolve() == REPO / "custom_components" / DOMAIN


def test_expected_devices_cover_all_three_vendors() -> None:
    devices = expected_devices()
    assert sorted(devices) == [
        "easee_EH000001",
        "easee_EH000002",
        "easee_circuit_10",
        "easee_site_1",
        "goe_000001",
        "goe_000002",
        "viriciti_Depot",
        "viriciti_Depot_charger_1",
        "viriciti_Depot_charger_2",
        "viriciti_Depot_charger_3",
    ]


def test_onboarding_s_location_step_is_done_before_home_assistant_starts(tmp_path: Path) -> None:
    """Finishing it through the API would start four integrations the demo cannot run: errors."""
    config_dir = tmp_path / "config"
    write_configuration(config_dir, 8999)
    store = json.loads((config_dir / ".storage" / "onboarding").read_text())
    assert store["key"] == "onboarding"
    assert store["data"] == {"done": ["core_config"]}
    # The version Home Assistant writes, or an older one it migrates; never a newer one.
    assert store["version"] <= onboarding.STORAGE_VERSION


def test_ffmpeg_is_the_static_build_the_demo_installs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tts and assist check ffmpeg at start: without a program, an error in the log."""
    monkeypatch.setattr(run, "ffmpeg_program", lambda: "/venv/imageio_ffmpeg/ffmpeg-linux")
    write_configuration(tmp_path / "config", 8999)

    config = load_yaml_dict(tmp_path / "config" / "configuration.yaml")
    assert config["ffmpeg"] == {"ffmpeg_bin": "/venv/imageio_ffmpeg/ffmpeg-linux"}


def test_home_assistant_finds_the_fetched_libturbojpeg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "root/usr/lib/x86_64-linux-gnu"
    folder.mkdir(parents=True)
    (folder / "libturbojpeg.so.0").touch()
    monkeypatch.setattr(requirements, "TURBOJPEG", tmp_path)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/lib")

    assert run.hass_environment()["LD_LIBRARY_PATH"] == f"{folder}:/opt/lib"

    (folder / "libturbojpeg.so.0").unlink()
    monkeypatch.delenv("LD_LIBRARY_PATH")
    assert "LD_LIBRARY_PATH" not in run.hass_environment()


def test_a_missing_library_stops_the_demo_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(requirements, "TURBOJPEG", tmp_path)
    monkeypatch.setattr(requirements.ctypes.util, "find_library", lambda _name: None)
    monkeypatch.setattr(requirements, "ffmpeg_program", lambda: None)
    assert requirements.machine_libraries() == ["imageio-ffmpeg's ffmpeg", "libturbojpeg"]
    monkeypatch.setattr(run, "missing_requirements", lambda _domains: {})
    monkeypatch.setattr(run, "unpinned_installs", lambda _names: {})

    with pytest.raises(DemoError, match=r"libturbojpeg is missing: .* run scripts/setup --demo"):
        run.check_installed()

    monkeypatch.setattr(requirements.ctypes.util, "find_library", lambda n: f"lib{n}.so.0")
    monkeypatch.setattr(requirements, "ffmpeg_program", lambda: "/bin/ffmpeg")
    assert requirements.machine_libraries() == []


async def test_home_assistant_listens_on_this_machine_only_with_nothing_to_confirm(
    hass: HomeAssistant, hass_storage: dict[str, Any], tmp_path: Path
) -> None:
    """An `http:` in configuration.yaml became a trial to confirm in a dialog, and a repair."""
    write_configuration(tmp_path / "config", 8999)
    hass_storage[http.STORAGE_KEY] = json.loads(
        (tmp_path / "config" / ".storage" / http.STORAGE_KEY).read_text()
    )

    settings = await http.async_load_config(hass, {})

    assert settings["server_host"] == ["127.0.0.1"]
    assert settings["server_port"] == 8999
    store = hass.data[http.DATA_STORE]
    assert store.active_config_type is http.ActiveConfigType.STABLE
    assert store.revert_deadline is None
    assert store.pending is None
    assert ir.async_get(hass).issues == {}
