"""The demo's Home Assistant configuration: local only, password-less only for this machine."""

import json
from pathlib import Path

from homeassistant.components import onboarding
from homeassistant.util.yaml import load_yaml_dict

from demo.fleet import expected_devices
from demo.run import DOMAIN, REPO, write_configuration


def test_configuration_is_local_and_runs_this_working_tree(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    write_configuration(config_dir, 8999)

    config = load_yaml_dict(config_dir / "configuration.yaml")
    assert config["http"] == {"server_host": "127.0.0.1", "server_port": 8999}
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
