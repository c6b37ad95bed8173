"""Access rules on every read path: the decision for each (reader, record), and its record.

The rules in force can be replaced at run time (SIGHUP, Admin.ReloadRules);
an invalid file is refused and the rules in force stay. Each decision and each
denial is written to the access log. Fail closed: anything that goes wrong
while deciding denies.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

from silkline.formats import dsse
from silkline.identity import Identity
from silkline.policy.decision import Decision, Reader, Reason, RecordFacts, decide
from silkline.policy.rules import Rules, load_rules
from silkline_server.store import NewAccessEvent, Store, StoredDisclosure, StoredRecord

log = structlog.get_logger("silkline.access")

NOT_FOUND_REASON = Reason(cite="record.id", text="no record with this id")


@dataclass(frozen=True)
class RecordAccess:
    """What one reader may have of one record."""

    record: StoredRecord
    decision: Decision
    disclosures: tuple[str, ...]
    withheld: tuple[str, ...]
    erased: tuple[str, ...]


class AccessControl:
    """Holds the rules in force and decides, for each read, what the reader gets."""

    def __init__(self, rules_path: Path, store: Store) -> None:
        self._path = rules_path
        self._store = store
        self._lock = threading.Lock()
        self._rules = load_rules(rules_path)
        self._remember(self._rules)

    @property
    def rules(self) -> Rules:
        return self._rules

    def reload(self) -> Rules:
        """Load the rules file again; on any error the rules in force stay and it raises."""
        rules = load_rules(self._path)
        with self._lock:
            self._rules = rules
        self._remember(rules)
        log.info("rules reloaded", rules_sha256=rules.sha256, source=str(self._path))
        return rules

    def _remember(self, rules: Rules) -> None:
        self._store.record_rules_version(rules.sha256, str(self._path), datetime.now(UTC))

    def roles(self, identity: Identity) -> frozenset[str]:
        participant = self._rules.participants.get(identity.participant)
        agency = participant.agencies.get(identity.agency) if participant else None
        return agency.roles if agency is not None else frozenset()

    def decide(
        self,
        reader: Identity,
        record: StoredRecord,
        disclosures: list[StoredDisclosure],
        now: datetime,
    ) -> RecordAccess:
        rules = self._rules
        facts = record_facts(record, disclosures)
        try:
            decision = decide(
                Reader(reader.participant, reader.agency, reader.client), facts, rules, at=now
            )
        except Exception as exc:
            log.error("decision failed; denying", record_id=record.record_id, error=repr(exc))
            decision = Decision(
                allowed=False,
                view="none",
                disclosed=frozenset(),
                withheld=facts.field_classes,
                reasons=(Reason("evaluator", f"evaluation failed: {type(exc).__name__}"),),
                notices=(),
                onward_sharing=False,
                rules_sha256=rules.sha256,
            )
        visible = decision.view == "full"
        return RecordAccess(
            record=record,
            decision=decision,
            disclosures=tuple(
                d.disclosure
                for d in disclosures
                if visible and d.disclosure is not None and d.field_class in decision.disclosed
            ),
            withheld=tuple(sorted(decision.withheld)),
            erased=tuple(sorted({d.field_class for d in disclosures if d.disclosure is None})),
        )

    def event(
        self,
        reader: Identity,
        record_id: str,
        action: str,
        decision: Decision | None,
        now: datetime,
    ) -> NewAccessEvent:
        """The access-log entry of one read (decision None: the id does not exist)."""
        reasons = decision.reasons if decision is not None else (NOT_FOUND_REASON,)
        return NewAccessEvent(
            at=now,
            reader_participant=reader.participant,
            reader_agency=reader.agency,
            reader_client=reader.client,
            record_id=record_id,
            action=action,
            allowed=bool(decision and decision.allowed),
            view=decision.view if decision is not None else "none",
            reasons=json.dumps([{"cite": r.cite, "text": r.text} for r in reasons]),
            disclosed=",".join(sorted(decision.disclosed)) if decision else "",
            withheld=",".join(sorted(decision.withheld)) if decision else "",
            rules_sha256=self._rules.sha256,
        )


def record_facts(record: StoredRecord, disclosures: list[StoredDisclosure]) -> RecordFacts:
    """The facts a decision needs, read from the signed payload (the originator's controls)."""
    payload = json.loads(dsse.parse_envelope(record.envelope).payload)
    distribution = payload.get("distribution", {})
    return RecordFacts(
        record_id=record.record_id,
        record_type=record.record_type,
        originator_participant=record.originator_participant,
        originator_agency=record.originator_agency,
        created_at=record.created_at,
        tlp=record.tlp,
        recipients=tuple(distribution.get("recipients", [])),
        handling=tuple(h for h in record.handling.split(",") if h),
        field_classes=frozenset(d.field_class for d in disclosures),
    )
