"""The normalized event in code and in JSON Schema say the same thing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from schemas.normalized import EVENT_TYPES, PROVIDERS, NormalizedEvent, parse_rfc3339
from tests.support.events import event

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "normalized_event.v1.json").read_text()
)


def test_schema_fields_match_the_dataclass() -> None:
    fields = {f.name for f in dataclasses.fields(NormalizedEvent)}
    assert fields == set(SCHEMA["required"]) == set(SCHEMA["properties"])


def test_schema_enums_match_the_code() -> None:
    assert set(SCHEMA["properties"]["type"]["enum"]) == EVENT_TYPES
    assert set(SCHEMA["properties"]["provider"]["enum"]) == PROVIDERS


def test_json_round_trip_and_key() -> None:
    e = event(1, "payment.succeeded", amount=1099)
    data = json.loads(e.to_json())
    assert data["event_id"] == "stripe:evt_1" and data["schema_version"] == 1
    assert data["raw"] == {"topic": "payments.raw", "partition": 0, "offset": 0}
    assert NormalizedEvent.from_json(e.to_json()) == e
    assert e.key == "stripe:pi_1"


def test_money_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        dataclasses.replace(event(1, "payment.succeeded"), amount=10.99)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        dataclasses.replace(event(1, "payment.succeeded"), amount=True)


def test_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(event(1, "payment.succeeded"), type="payment.teleported")


def test_unknown_schema_version_is_refused() -> None:
    data = event(1, "other").to_dict() | {"schema_version": 2}
    with pytest.raises(ValueError):
        NormalizedEvent.from_dict(data)


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("2022-07-13T20:30:59.037339943Z", 37339),
        ("2022-07-13T20:30:59Z", 0),
        ("2022-07-13T22:30:59.5+02:00", 500000),
    ],
)
def test_rfc3339_parsing_keeps_utc_and_truncates_nanoseconds(text: str, micro: int) -> None:
    moment = parse_rfc3339(text)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert (moment.hour, moment.microsecond) == (20, micro)
