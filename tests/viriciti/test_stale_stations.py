"""A charge station that leaves the group's time series: removed after a day, added when back."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.viriciti import ViricitiSimulator
from tests.conftest import find_device, setup_entry, travel
from tests.viriciti.conftest import GROUP

STATION = "CS-02"
DEVICE = f"viriciti_{GROUP}_{STATION}"
SENSOR = "sensor.depot_north_cs_02_connector_1_limit"
FIVE_MINUTES = timedelta(minutes=5)


def devices(hass: HomeAssistant, entry: MockConfigEntry) -> int:
    """Return how many devices the entry has in the registry."""
    return len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id))


def station_entities(hass: HomeAssistant) -> list[str]:
    """Return the entity ids the registry holds for the station."""
    return [
        entity.entity_id
        for entity in er.async_get(hass).entities.values()
        if entity.unique_id.startswith(f"{DEVICE}_")
    ]


def samples_without(sim: ViricitiSimulator, station: str) -> int:
    """Return how many of the group's samples do not list the station."""
    return sum(
        all(name != station for name, _, _ in sample.limits) for sample in sim.samples(GROUP)
    )


async def test_a_station_absent_for_a_day_is_removed_not_one_missing_a_sample(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """One sample without the station changes nothing; a day of samples without it removes it.

    Its device goes and its sensors with it; the group and the other station stay.
    """
    assert devices(hass, init_viriciti) == 3
    assert station_entities(hass) == [SENSOR]

    # One sample of the group leaves the station out (a station offline for a minute).
    await travel(hass, freezer, timedelta(minutes=1))
    viriciti_sim.remove_station(GROUP, STATION)
    await travel(hass, freezer, timedelta(minutes=1))
    viriciti_sim.add_station(GROUP, STATION, [50])
    assert samples_without(viriciti_sim, STATION) == 1
    await travel(hass, freezer, timedelta(hours=25), step=FIVE_MINUTES)
    assert devices(hass, init_viriciti) == 3
    assert hass.states.get(SENSOR).state == "50.0"

    # It leaves the group: for a day its sensor keeps the last limit it had, then it goes.
    viriciti_sim.remove_station(GROUP, STATION)
    await travel(hass, freezer, timedelta(hours=23, minutes=50), step=FIVE_MINUTES)
    assert samples_without(viriciti_sim, STATION) > 12
    assert find_device(hass, DEVICE) is not None
    assert station_entities(hass) == [SENSOR]
    await travel(hass, freezer, timedelta(minutes=20), step=FIVE_MINUTES)
    assert find_device(hass, DEVICE) is None
    assert devices(hass, init_viriciti) == 2
    assert station_entities(hass) == []
    assert hass.states.get(SENSOR) is None
    assert find_device(hass, f"viriciti_{GROUP}_CS-01") is not None
    assert hass.states.get("sensor.depot_north_cs_01_connector_1_limit").state == "120.0"


async def test_a_station_that_comes_back_is_added_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """Removed after a day away, a station found in the samples again is a device again."""
    viriciti_sim.remove_station(GROUP, STATION)
    await travel(hass, freezer, timedelta(hours=24, minutes=10), step=timedelta(minutes=30))
    assert find_device(hass, DEVICE) is None

    viriciti_sim.add_station(GROUP, STATION, [40, 10])
    await travel(hass, freezer, FIVE_MINUTES + timedelta(seconds=30), step=timedelta(seconds=30))
    station = find_device(hass, DEVICE)
    assert station is not None
    assert station.via_device_id == find_device(hass, f"viriciti_{GROUP}").id
    assert devices(hass, init_viriciti) == 3
    assert hass.states.get(SENSOR).state == "40.0"
    assert hass.states.get("sensor.depot_north_cs_02_connector_2_limit").state == "10.0"


async def test_a_day_of_few_samples_removes_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """A day in which the series holds only a few samples is no proof: an hour of them is."""
    viriciti_sim.remove_station(GROUP, STATION)
    # The series thins out: samples only when the group's limit changes.
    viriciti_sim.sample_interval = 7 * 86400
    await travel(hass, freezer, timedelta(hours=30), step=timedelta(minutes=30))
    assert 0 < samples_without(viriciti_sim, STATION) < 12
    assert find_device(hass, DEVICE) is not None

    viriciti_sim.sample_interval = 300
    await travel(hass, freezer, timedelta(hours=1), step=FIVE_MINUTES)
    assert find_device(hass, DEVICE) is None


async def test_the_samples_decide_not_the_clock(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """Two days in which the series cannot be read remove nothing; the samples read then do."""
    viriciti_sim.remove_station(GROUP, STATION)
    viriciti_sim.inject_fault("http_500", path_contains="/time/", count=10_000)
    await travel(hass, freezer, timedelta(days=2), step=timedelta(minutes=30))
    assert find_device(hass, DEVICE) is not None

    viriciti_sim.clear_faults()
    await travel(hass, freezer, FIVE_MINUTES, step=timedelta(minutes=1))
    assert find_device(hass, DEVICE) is None


async def test_a_station_gone_while_home_assistant_was_stopped(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """A station's device from an earlier run is removed a day after start if no sample has it."""
    assert await hass.config_entries.async_unload(init_viriciti.entry_id)
    viriciti_sim.remove_station(GROUP, STATION)
    await travel(hass, freezer, timedelta(hours=3))
    await setup_entry(hass, init_viriciti)
    assert find_device(hass, DEVICE) is not None

    await travel(hass, freezer, timedelta(hours=23, minutes=30), step=timedelta(minutes=30))
    assert find_device(hass, DEVICE) is not None
    await travel(hass, freezer, timedelta(hours=1), step=FIVE_MINUTES)
    assert find_device(hass, DEVICE) is None
    assert station_entities(hass) == []
    assert devices(hass, init_viriciti) == 2
