"""IndicatorsService: aggregates over the records a caller may see, never the records.

Every stored record of an indicator type is judged by the access rules for
the caller, as for Get and List (AccessControl.decide). Only records the
caller may see in full (``view == "full"``) are aggregated, and only from
their signed payload: disclosures (personal data, precise locations) are
never read, whatever the caller may see. A reader whose rules give headers
only (an auditor) gets nothing from bodies; the response says how many such
records there were. Records the caller may not see at all are not mentioned,
not even counted.

Each record used is written to the access log (action ``indicators``) before
the answer leaves; if the access log cannot be written the call fails with
UNAVAILABLE and nothing is answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import grpc
import structlog

from silkline.formats import dsse
from silkline.identity import Identity
from silkline.indicators.aggregate import IndicatorAccumulator, Indicators, QueryError
from silkline.indicators.facts import INDICATOR_RECORD_TYPES, IndicatorInputError
from silkline.indicators.rates import RateTable
from silkline.indicators.wire import query_of, response_of
from silkline.records import Violation
from silkline.v1 import indicators_pb2, indicators_pb2_grpc
from silkline_server.access import AccessControl
from silkline_server.caller import current_caller
from silkline_server.services.context import Context
from silkline_server.services.status import abort_with_violations
from silkline_server.store import NewAccessEvent, Store, StoreError

log = structlog.get_logger("silkline.indicators")

SCAN_BATCH: Final = 1000
"""Records read from the store per query, and access events written per transaction."""

MAX_GROUPINGS: Final = 8
"""Groupings one call may ask for: a table and the views of a report's charts fit."""


class AccessLogUnavailableError(Exception):
    """The access log could not be written: nothing may be answered."""


@dataclass
class _Scan:
    used: int = 0
    metadata_only: int = 0
    unreadable: int = 0


class IndicatorsServicer(indicators_pb2_grpc.IndicatorsServiceServicer):
    def __init__(
        self,
        store: Store,
        access: AccessControl,
        rates: RateTable,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._access = access
        self._rates = rates
        self._clock = clock

    async def GetIndicators(
        self, request: indicators_pb2.GetIndicatorsRequest, context: Context
    ) -> indicators_pb2.GetIndicatorsResponse:
        caller = current_caller().identity
        try:
            query = query_of(request)
            if len(query.groupings) > MAX_GROUPINGS:
                raise QueryError("groupings", f"at most {MAX_GROUPINGS} groupings per call")
        except QueryError as exc:
            await abort_with_violations(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                str(exc),
                [Violation(exc.field, exc.message)],
            )
        accumulator = IndicatorAccumulator(query, self._rates)
        now = self._clock()
        try:
            scan = await asyncio.to_thread(self._scan, caller, accumulator, now)
        except AccessLogUnavailableError:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the access log is unavailable; retry")
        except StoreError as exc:
            log.error("store unavailable; no indicators", error=str(exc))
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the store is unavailable; retry")
        notes = (
            [f"{scan.unreadable} record(s) could not be read and are left out"]
            if scan.unreadable
            else []
        )
        indicators: Indicators = accumulator.result(
            records_metadata_only=scan.metadata_only,
            rules_sha256=self._access.rules.sha256,
            notes=notes,
        )
        log.info(
            "indicators served",
            records_used=scan.used,
            records_metadata_only=scan.metadata_only,
            rows=len(indicators.rows),
        )
        return response_of(indicators)

    def _scan(self, caller: Identity, accumulator: IndicatorAccumulator, now: datetime) -> _Scan:
        """Every record of an indicator type, in log order, judged for the caller."""
        scan = _Scan()
        after = -1
        while True:
            batch = self._store.list_records(
                after_index=after, limit=SCAN_BATCH, record_types=INDICATOR_RECORD_TYPES
            )
            events: list[NewAccessEvent] = []
            # One query for the batch's disclosures, not one per record.
            disclosures = self._store.get_disclosures_of([stored.record_id for stored in batch])
            for stored in batch:
                after = stored.log_index
                access = self._access.decide(caller, stored, disclosures[stored.record_id], now)
                if access.decision.view == "metadata":
                    scan.metadata_only += 1
                if access.decision.view != "full":
                    continue
                # The signed payload only: disclosures are never part of an indicator.
                payload = json.loads(dsse.parse_envelope(stored.envelope).payload)
                try:
                    used = accumulator.add(payload)
                except IndicatorInputError as exc:
                    scan.unreadable += 1
                    log.error("record left out of indicators", error=str(exc))
                    continue
                if used:
                    scan.used += 1
                    # The event records what this read released: no disclosure, whatever
                    # the decision would have allowed; every class the record carries
                    # stayed withheld.
                    released = dataclasses.replace(
                        access.decision,
                        disclosed=frozenset(),
                        withheld=access.decision.withheld | access.decision.disclosed,
                    )
                    events.append(
                        self._access.event(caller, stored.record_id, "indicators", released, now)
                    )
            if events:
                try:
                    self._store.record_access_events(events)
                except StoreError as exc:
                    # No aggregate of a record without its read in the access log.
                    log.error("access log unavailable; refusing indicators", error=str(exc))
                    raise AccessLogUnavailableError from exc
            if len(batch) < SCAN_BATCH:
                return scan
