"""Sample seizures: valid against the schema, shaped on the seed figures, reproducible."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from silkline.authoring import build_payload
from silkline.feeds.sample import SAMPLE_SPAN, sample_seizures
from silkline.identity import Identity
from silkline.records import validate_payload

UNTIL = datetime(2026, 6, 1, tzinfo=UTC)
FEED = Identity("IN", "FEED", "seizure-feed-1")


def test_every_sample_is_a_valid_seizure_alert() -> None:
    for body in sample_seizures(300, seed=1, until=UNTIL):
        validate_payload(build_payload("seizure-alert", body, originator=FEED, tlp="AMBER"))


def test_the_same_seed_gives_the_same_samples_and_another_seed_others() -> None:
    first = list(sample_seizures(50, seed=9, until=UNTIL))
    assert first == list(sample_seizures(50, seed=9, until=UNTIL))
    assert first != list(sample_seizures(50, seed=10, until=UNTIL))


def test_samples_cover_the_drugs_places_and_units_of_the_seed_figures() -> None:
    bodies = list(sample_seizures(1000, seed=2, until=UNTIL))
    drugs = Counter(b["items"][0]["drug"] for b in bodies)
    assert set(drugs) == {"heroin", "methamphetamine", "cocaine", "pharmaceutical-tablets"}
    units = {b["items"][0]["quantity"]["unit"] for b in bodies}
    assert units == {"kg", "quintal", "tablets"}
    places = " ".join(b["location"]["name"] for b in bodies)
    for place in ("Mundra", "Gujarat", "Panji Poyon", "Termez", "Sher Khan Bandar"):
        assert place in places
    assert any("Chabahar" in str(b["route"]) for b in bodies)
    values = {b["items"][0]["estimated_value"]["scale"] for b in bodies}
    assert values == {"crore"}
    keys = [b["case_reference"] for b in bodies]
    assert len(set(keys)) == len(keys), "each sample has its own source key"
    times = [datetime.fromisoformat(b["seized_at"]) for b in bodies]
    assert all(UNTIL - SAMPLE_SPAN <= t <= UNTIL for t in times)
