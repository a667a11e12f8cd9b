"""Reading the Easee hub's messages: typed values, and typed errors for what does not fit."""

import pytest

from custom_components.ev_charge_control.api.easee_stream import (
    DEFAULT_STREAM_URL,
    EaseeCommandResponse,
    EaseeObservation,
    StreamMessageError,
    parse_command_response,
    parse_observation,
    split_frames,
    stream_url,
)


@pytest.mark.parametrize(
    ("data_type", "value", "expected"),
    [
        (2, "1", True),
        (2, "true", True),
        (2, "True", True),
        (2, "0", False),
        (2, "false", False),
        (3, "16.5", 16.5),
        (3, "32", 32.0),
        (4, "3", 3),
        (4, "-1", -1),
        (6, "2026-11-21T12:00:00Z", "2026-11-21T12:00:00Z"),
        (1, "some text", "some text"),
    ],
)
def test_values_are_typed_by_data_type(data_type: int, value: str, expected: object) -> None:
    observation = parse_observation(
        {"mid": "EH000001", "dataType": data_type, "id": 48, "value": value}
    )
    assert observation == EaseeObservation("EH000001", 48, data_type, expected)
    assert type(observation.value) is type(expected)


@pytest.mark.parametrize(
    "item",
    [
        None,
        [],
        "text",
        {"dataType": 3, "id": 48, "value": "1"},  # no charger
        {"mid": "", "dataType": 3, "id": 48, "value": "1"},
        {"mid": "EH1", "dataType": 3, "value": "1"},  # no id
        {"mid": "EH1", "id": 48, "value": "1"},  # no data type
        {"mid": "EH1", "dataType": 2, "id": 48, "value": "maybe"},
        {"mid": "EH1", "dataType": 3, "id": 48, "value": "NaN"},
        {"mid": "EH1", "dataType": 3, "id": 48, "value": None},
        {"mid": "EH1", "dataType": 4, "id": 48, "value": "1.5"},
        {"mid": "EH1", "dataType": 1, "id": 48, "value": {"a": 1}},
        {"mid": "EH1", "dataType": True, "id": 48, "value": "1"},
    ],
)
def test_a_malformed_update_is_a_typed_error(item: object) -> None:
    with pytest.raises(StreamMessageError):
        parse_observation(item)


def test_pascal_case_fields_are_read_too() -> None:
    assert parse_observation({"Mid": "EH1", "DataType": 4, "Id": 109, "Value": "3"}) == (
        EaseeObservation("EH1", 109, 4, 3)
    )


def test_command_responses() -> None:
    assert parse_command_response(
        {"SerialNumber": "EH1", "ID": 5, "WasAccepted": False, "ResultCode": 3, "Ticks": 42}
    ) == EaseeCommandResponse("EH1", 42, False, 3)
    assert parse_command_response({"serialNumber": "EH1"}) == EaseeCommandResponse(
        "EH1", None, None, None
    )
    for bad in (None, {}, {"SerialNumber": 7}):
        with pytest.raises(StreamMessageError):
            parse_command_response(bad)


def test_a_command_response_of_the_real_hub_is_read() -> None:
    """Every field the real hub sends, named and typed as evcc's client reads them.

    evcc-io/evcc charger/easee/message.go: SerialNumber, ID, Timestamp, DeliveredAt,
    WasAccepted, ResultCode, Comment, Ticks; the times are ISO strings.
    """
    (message,) = split_frames(
        '{"type":1,"target":"CommandResponse","arguments":[{"SerialNumber":"EH123456",'
        '"ID":48,"Timestamp":"2026-11-21T12:00:01.123Z","DeliveredAt":"2026-11-21T12:00:01.5Z",'
        '"WasAccepted":false,"ResultCode":2,"Comment":"Rejected: charger offline",'
        '"Ticks":639012345678901234}]}\x1e'
    )
    assert isinstance(message, dict)
    (item,) = message["arguments"]
    assert parse_command_response(item) == EaseeCommandResponse(
        "EH123456", 639012345678901234, False, 2
    )


def test_frames_are_split_at_the_record_separator() -> None:
    assert split_frames('{"type":6}\x1e{"type":1}\x1enot json\x1e\x1e') == [
        {"type": 6},
        {"type": 1},
    ]


def test_the_hub_is_easees_own_for_easees_api_and_beside_any_other() -> None:
    assert stream_url("https://api.easee.com") == DEFAULT_STREAM_URL
    assert stream_url("https://api.easee.com/") == DEFAULT_STREAM_URL
    assert stream_url("http://127.0.0.1:8123/") == "http://127.0.0.1:8123"
