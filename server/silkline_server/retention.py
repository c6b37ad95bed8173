"""Retention: erase disclosures once the strictest participant holding them must let go.

A disclosure is held by the originator's participant and by every participant
it was disclosed to (the access log says which). When any of them has a
retention rule for the field class, the shortest such period counts from the
record's `created_at`; once it has passed, the disclosure's text is erased.
Envelopes, signatures and the log are untouched, so everything still verifies,
and readers are told the class was erased under retention.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from silkline.policy.rules import Rules
from silkline_server.store import HeldDisclosure, Store

log = structlog.get_logger("silkline.retention")

DEFAULT_INTERVAL_S = 3600.0


@dataclass(frozen=True)
class Erasure:
    disclosure_id: int
    record_id: str
    field_class: str
    days: int
    holder: str


def due_erasures(
    held: list[HeldDisclosure], holders: dict[int, set[str]], rules: Rules, now: datetime
) -> list[Erasure]:
    """Pure: which held disclosures must be erased at `now` under `rules`."""
    due = []
    for item in held:
        periods = [
            (days, participant)
            for participant in sorted(
                holders.get(item.disclosure_id, set()) | {item.originator_participant}
            )
            if (days := rules.retention_days(participant, item.field_class)) is not None
        ]
        if not periods:
            continue
        days, holder = min(periods)
        if item.created_at + timedelta(days=days) <= now:
            due.append(Erasure(item.disclosure_id, item.record_id, item.field_class, days, holder))
    return due


def could_be_due(held: list[HeldDisclosure], rules: Rules, now: datetime) -> list[HeldDisclosure]:
    """The held disclosures old enough that some participant's period may have passed.

    The shortest period any participant has for a class bounds every holder's,
    so a disclosure younger than it cannot be due whoever holds it. Sorting
    those out first spares one access-log query per disclosure: on a large
    store nearly all of them are young, and the purge runs at every start-up.
    """
    shortest: dict[str, int] = {}
    for entry in rules.retention:
        shortest[entry.field_class] = min(entry.days, shortest.get(entry.field_class, entry.days))
    return [
        item
        for item in held
        if item.field_class in shortest
        and item.created_at + timedelta(days=shortest[item.field_class]) <= now
    ]


def purge(store: Store, rules: Rules, now: datetime | None = None) -> list[Erasure]:
    """Erase every disclosure whose retention has passed; return what was erased."""
    now = now or datetime.now(UTC)
    if not rules.retention:
        return []
    # Only records older than the shortest period of all are read from the store.
    shortest = min(entry.days for entry in rules.retention)
    held = could_be_due(store.held_disclosures(now - timedelta(days=shortest)), rules, now)
    holders = {
        item.disclosure_id: store.disclosure_recipients(item.record_id, item.field_class)
        for item in held
    }
    due = due_erasures(held, holders, rules, now)
    erased = store.erase_disclosures([e.disclosure_id for e in due], now)
    for erasure in due:
        log.info(
            "disclosure erased under retention",
            record_id=erasure.record_id,
            field_class=erasure.field_class,
            retention_days=erasure.days,
            strictest_holder=erasure.holder,
        )
    if erased != len(due):
        log.warning("fewer disclosures erased than due", due=len(due), erased=erased)
    return due


class RulesSource(Protocol):
    """Whatever holds the rules in force (AccessControl): they may be reloaded."""

    @property
    def rules(self) -> Rules: ...


class RetentionJob:
    """Owns the task that purges on start-up and then every `interval_s`."""

    def __init__(
        self, store: Store, rules: RulesSource, interval_s: float = DEFAULT_INTERVAL_S
    ) -> None:
        self._store = store
        self._rules = rules
        self._interval_s = interval_s
        self._stopping = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._owner = asyncio.create_task(self._run(), name="silkline-retention")

    async def stop(self) -> None:
        if self._owner is None:
            return
        self._stopping.set()
        await asyncio.wait([self._owner])
        if not self._owner.cancelled():
            self._owner.result()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(purge, self._store, self._rules.rules)
            except Exception as exc:
                log.error("retention purge failed; will retry", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval_s)


