"""The access decision: may this agency see this record, which field classes, and why.

:func:`decide` is pure, deterministic and fail-closed. It never raises: an
error while evaluating denies, citing ``evaluator`` and the error type. Each
decision carries its reasons, each citing the rule entry (``agreements.in-uz-2018``,
``restrictions.tm-no-personal-data``, ``participants.KZ.agencies.MVD``) or the
record field (``record.distribution.tlp``, ``record.distribution.recipients``,
``record.distribution.handling``) that caused it, in a stable order.

How a decision is made
----------------------
1. **Who reads.** The reader's roles come from the rules, never from the
   caller. An agency the rules do not list is denied. An agency with the
   ``reader`` role is judged by the steps below. An agency with the
   ``auditor`` role but not ``reader`` gets ``view="metadata"`` for any
   record: headers and the log, never the body or disclosures. An agency
   with both roles that the steps below deny also falls back to metadata.
   Any other agency (publisher, feed, analyst or admin only) is denied.
2. **What the rules grant** (step 2 may only grant; nothing later widens it).

   - The originator agency sees its own record in full, whatever its labels.
   - Another agency of the originator's participant needs no agreement, and
     every field class the record carries is disclosed to it.
   - Another participant needs at least one agreement in force on the UTC
     date of ``at`` (``valid_from <= day <= valid_until``, both inclusive)
     to which both participants are parties and which covers the record
     type. Without one: denied. The classes disclosed are those the record
     carries that one of those agreements covers, minus the originator
     participant's ``no_send`` and the reader participant's ``no_receive``
     restrictions. Each withheld class has a reason.
3. **What the originator's controls narrow** (signed inside the record; they
   can only take away). TLP 2.0:

   =============  =========================================  ==================================
   label          another agency of the same participant     another participant
   =============  =========================================  ==================================
   CLEAR, GREEN   allowed                                    allowed (an agreement links them)
   AMBER          allowed                                    only if ``P`` or any ``P/AGENCY``
                                                             is in the recipients
   AMBER+STRICT,  only if ``P/AGENCY`` is in the recipients  only if ``P/AGENCY`` is in the
   RED                                                       recipients
   =============  =========================================  ==================================

   Recipients do not narrow CLEAR and GREEN: for them the agreements decide.
   AMBER with no participant in the recipients reaches no other participant.
   An unknown TLP label or handling code denies (fail closed): a control the
   evaluator does not understand cannot be honoured.
4. **Handling.** ``onward_sharing`` is false when the record carries H2, when
   its TLP is AMBER+STRICT or RED (RED is never exported or forwarded), or
   when any agreement the decision rests on forbids onward sharing. H1 adds a
   notice that travels with every display; H3 adds a generic notice pointing
   to the originator's text. Notices accompany every view but ``none``.

``allowed`` is true exactly when ``view`` is not ``"none"``. For a denied
record nothing is disclosed and every class it carries counts as withheld;
the server must not tell a denied reader even that (it answers NOT_FOUND).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from silkline.policy.rules import AgencyEntry, Agreement, Rules
from silkline.records import RECORD_TYPES

if TYPE_CHECKING:
    from silkline.record_checks import RecordHeader

__all__ = [
    "H1_NOTICE",
    "H3_NOTICE",
    "HANDLING_CODES",
    "TLP_LEVELS",
    "Decision",
    "Reader",
    "Reason",
    "RecordFacts",
    "View",
    "decide",
]

TLP_LEVELS: Final = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
HANDLING_CODES: Final = ("H0", "H1", "H2", "H3")
H1_NOTICE: Final = "H1: not for use as court evidence without the originator's permission"
H3_NOTICE: Final = (
    "H3: the originator set further handling conditions; read them in the record's "
    "distribution before any use"
)

View = Literal["full", "metadata", "none"]

CITE_EVALUATOR: Final = "evaluator"
CITE_TLP: Final = "record.distribution.tlp"
CITE_RECIPIENTS: Final = "record.distribution.recipients"
CITE_HANDLING: Final = "record.distribution.handling"
CITE_ORIGINATOR: Final = "record.originator"
CITE_RECORD_TYPE: Final = "record.record_type"

_NO_ONWARD_LABELS: Final = frozenset({"AMBER+STRICT", "RED"})
_KNOWN_TLP: Final = frozenset(TLP_LEVELS)
_KNOWN_HANDLING: Final = frozenset(HANDLING_CODES)
_RECORD_TYPES: Final = frozenset(RECORD_TYPES)
_NOTHING: Final[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class Reader:
    """Who asks: participant and agency as the caller's certificate names them."""

    participant: str
    agency: str
    client: str = ""

    @property
    def path(self) -> str:
        """``P/AGENCY``, as recipients name an agency."""
        return f"{self.participant}/{self.agency}"


@dataclass(frozen=True)
class RecordFacts:
    """What the evaluator needs to know about a record: its header and the classes it carries.

    ``field_classes`` are the sensitive classes the record carries as
    disclosures; ``handling`` holds the handling codes only (H0 to H3).
    """

    record_id: str
    record_type: str
    originator_participant: str
    originator_agency: str
    created_at: datetime
    tlp: str
    recipients: tuple[str, ...]
    handling: tuple[str, ...]
    field_classes: frozenset[str]

    @classmethod
    def from_header(cls, header: RecordHeader, field_classes: Iterable[str]) -> RecordFacts:
        """The facts of a parsed record header (``silkline.record_checks.RecordHeader``)."""
        return cls(
            record_id=header.record_id,
            record_type=header.record_type,
            originator_participant=header.originator.participant,
            originator_agency=header.originator.agency,
            created_at=header.created_at,
            tlp=header.tlp,
            recipients=tuple(header.recipients),
            handling=tuple(header.handling),
            field_classes=frozenset(field_classes),
        )


@dataclass(frozen=True)
class Reason:
    """Why: the rule entry id or record field that caused part of a decision, and what it did."""

    cite: str
    text: str

    def __str__(self) -> str:
        return f"{self.cite}: {self.text}"


@dataclass(frozen=True)
class Decision:
    """The answer for one reader and one record, with the rules version it was made under."""

    allowed: bool
    view: View
    disclosed: frozenset[str]
    withheld: frozenset[str]
    reasons: tuple[Reason, ...]
    notices: tuple[str, ...]
    onward_sharing: bool
    rules_sha256: str

    @property
    def cites(self) -> tuple[str, ...]:
        """The citations of the reasons, in order."""
        return tuple(reason.cite for reason in self.reasons)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form, sets sorted, for the access log and ``policy explain --json``."""
        return {
            "allowed": self.allowed,
            "view": self.view,
            "disclosed": sorted(self.disclosed),
            "withheld": sorted(self.withheld),
            "reasons": [{"cite": r.cite, "text": r.text} for r in self.reasons],
            "notices": list(self.notices),
            "onward_sharing": self.onward_sharing,
            "rules_sha256": self.rules_sha256,
        }


def decide(reader: Reader, record: RecordFacts, rules: Rules, *, at: datetime) -> Decision:
    """Decide what ``reader`` may see of ``record`` under ``rules`` at the time ``at``.

    ``at`` must be timezone-aware; agreements are judged on its UTC date.
    Never raises: any error while evaluating denies, citing ``evaluator``.
    """
    try:
        return _decide(reader, record, rules, at)
    except Exception as exc:  # fail closed: an evaluator fault must deny, never crash the caller
        return Decision(
            allowed=False,
            view="none",
            disclosed=_NOTHING,
            withheld=_carried_or_nothing(record),
            reasons=(
                Reason(CITE_EVALUATOR, f"evaluation failed ({type(exc).__name__}): denied"),
            ),
            notices=(),
            onward_sharing=False,
            rules_sha256=str(getattr(rules, "sha256", "")),
        )


def _carried_or_nothing(record: object) -> frozenset[str]:
    try:
        return frozenset(record.field_classes)  # type: ignore[attr-defined]
    except Exception:  # the record itself may be what made the evaluation fail
        return _NOTHING


# ------------------------------------------------------------ evaluation
#
# A decision is made in two parts. What the rules alone say for one reader,
# originator participant, record type and day (step 1 and 2) is a _Basis,
# computed once and kept with the Rules object it came from (rules are
# immutable, so the memo can never be stale). The record's own controls
# (step 3 and 4) are then applied per record. They are combined with the
# basis's _Grant only by "and" and set intersection, in _decide alone: a
# record's labels can take away what the rules granted, never add to it.


@dataclass(frozen=True)
class _Grant:
    """What the rules grant a reader: access, field classes (None: all carried), onward sharing."""

    allowed: bool
    classes: frozenset[str] | None
    onward_sharing: bool
    # Why onward sharing is off, when the rules turn it off.
    onward_reasons: tuple[Reason, ...] = ()


_NOT_GRANTED: Final = _Grant(False, _NOTHING, False)
_Relation = Literal["originator", "same-participant", "other-participant"]
_Access = Literal["deny", "metadata", "evaluate"]


class _Basis:
    """What the rules say for one reader, originator participant, record type and day."""

    __slots__ = (
        "_withheld",
        "access",
        "agreement_ids",
        "blocking",
        "covered",
        "fallback",
        "first_agreement",
        "grant",
        "open_tlp",
        "origin",
        "reasons",
        "receiver",
        "record_type",
        "relation",
    )

    def __init__(
        self,
        access: _Access,
        reasons: tuple[Reason, ...],
        *,
        reader: Reader,
        origin: str = "",
        record_type: str = "",
        relation: _Relation = "other-participant",
        grant: _Grant = _NOT_GRANTED,
        fallback: Reason | None = None,
        matching: Sequence[Agreement] = (),
        covered: frozenset[str] | None = None,
        blocking: Mapping[str, tuple[Reason, ...]] | None = None,
    ) -> None:
        self.access = access
        self.reasons = reasons
        self.receiver = reader.participant
        self.origin = origin
        self.record_type = record_type
        self.relation = relation
        self.grant = grant
        # An agency with both reader and auditor roles keeps the auditor's
        # view when the reader's is denied.
        self.fallback = fallback
        self.agreement_ids = ", ".join(agreement.id for agreement in matching)
        self.first_agreement = matching[0].cite if matching else "agreements"
        # Classes the applicable agreements cover (None: no agreement needed),
        # and the national restrictions that block some of them.
        self.covered = covered
        self.blocking = blocking or {}
        scope = (
            f"open to every agency of {reader.participant}"
            if relation != "other-participant"
            else "open to every participant an agreement links to the originator; "
            "recipients narrow only AMBER, AMBER+STRICT and RED"
        )
        self.open_tlp = {
            label: Reason(CITE_TLP, f"TLP {label}: {scope}")
            for label in ("CLEAR", "GREEN", "AMBER")
        }
        self._withheld: dict[str, tuple[Reason, ...]] = {}

    def withheld_reasons(self, field_class: str) -> tuple[Reason, ...]:
        """Why the rules withhold a class the record carries: agreements, then restrictions."""
        found = self._withheld.get(field_class)
        if found is None:
            reasons: list[Reason] = []
            if self.covered is not None and field_class not in self.covered:
                reasons.append(
                    Reason(
                        self.first_agreement,
                        f"{field_class} withheld: no agreement covering it links {self.origin} "
                        f"and {self.receiver} for {self.record_type} "
                        f"(applicable: {self.agreement_ids})",
                    )
                )
            reasons.extend(self.blocking.get(field_class, ()))
            found = self._withheld[field_class] = tuple(reasons)
        return found


_MEMO_LIMIT: Final = 100_000


def _basis(
    rules: Rules, reader: Reader, origin: str, is_originator: bool, record_type: str, day: date
) -> _Basis:
    key = (reader.participant, reader.agency, origin, is_originator, record_type, day)
    # The memo lives with the rules it derives from, and goes when they are replaced.
    memo = rules._derived
    found: _Basis | None = memo.get(key)
    if found is None:
        if len(memo) >= _MEMO_LIMIT:
            # Bounded: a long-running server adds a day's worth of keys every day.
            memo.clear()
        found = memo[key] = _make_basis(rules, reader, origin, is_originator, record_type, day)
    return found


def _make_basis(
    rules: Rules, reader: Reader, origin: str, is_originator: bool, record_type: str, day: date
) -> _Basis:
    """Steps 1 and 2 of the module docstring: roles, then what the rules grant."""
    entry = rules.agency(reader.participant, reader.agency)
    if entry is None:
        if reader.participant in rules.participants:
            reason = Reason(
                f"participants.{reader.participant}",
                f"{reader.path} is not an agency of {reader.participant} in the rules: denied",
            )
        else:
            reason = Reason(
                "participants", f"{reader.participant} is not a participant in the rules: denied"
            )
        return _Basis("deny", (reason,), reader=reader)
    if "reader" not in entry.roles:
        if "auditor" in entry.roles:
            reason = Reason(entry.id, _AUDITOR_ONLY.format(path=entry.path))
            return _Basis("metadata", (reason,), reader=reader)
        roles = ", ".join(sorted(entry.roles)) or "none"
        text = _NO_READER_ROLE.format(path=entry.path, roles=roles)
        return _Basis("deny", (Reason(entry.id, text),), reader=reader)
    fallback = (
        Reason(entry.id, _AUDITOR_FALLBACK.format(path=entry.path))
        if "auditor" in entry.roles
        else None
    )
    reasons = [Reason(entry.id, f"{entry.path} has the reader role")]
    common: dict[str, Any] = {
        "reader": reader,
        "origin": origin,
        "record_type": record_type,
        "fallback": fallback,
    }
    if record_type not in _RECORD_TYPES:
        reasons.append(
            Reason(CITE_RECORD_TYPE, f"unknown record type {record_type!r}: denied (fail closed)")
        )
        return _Basis("evaluate", tuple(reasons), **common)
    if entry.participant == origin:
        if is_originator:
            text = f"{entry.path} is the originator: it sees its own record in full"
            relation: _Relation = "originator"
        else:
            text = (
                f"{entry.path} is of the originator's participant {origin}: no agreement is "
                "needed and every field class is disclosed"
            )
            relation = "same-participant"
        reasons.append(Reason(CITE_ORIGINATOR, text))
        grant = _Grant(True, None, True)
        return _Basis("evaluate", tuple(reasons), relation=relation, grant=grant, **common)
    return _across_participants(rules, entry, reasons, day, common)


def _across_participants(
    rules: Rules,
    entry: AgencyEntry,
    reasons: list[Reason],
    day: date,
    common: dict[str, Any],
) -> _Basis:
    origin, record_type = common["origin"], common["record_type"]
    receiver = entry.participant
    linking = rules.agreements_linking(origin, receiver)
    matching = [a for a in linking if record_type in a.record_types and a.in_force(day)]
    pair = f"{origin} and {receiver}"
    if not matching:
        reasons.append(
            Reason(
                "agreements",
                f"no agreement in force on {day.isoformat()} links {pair} for {record_type}: "
                "denied",
            )
        )
        reasons.extend(Reason(a.cite, _why_not_applicable(a, record_type, day)) for a in linking)
        return _Basis("evaluate", tuple(reasons), **common)
    covered: set[str] = set()
    for agreement in matching:
        covered.update(agreement.field_classes)
        classes = ", ".join(sorted(agreement.field_classes)) or "no sensitive field class"
        reasons.append(
            Reason(
                agreement.cite,
                f"links {pair} for {record_type}, in force on {day.isoformat()}; covers: {classes}",
            )
        )
    blocking: dict[str, list[Reason]] = {}
    for restriction in rules.restrictions_of(origin):
        for field_class in sorted(restriction.no_send):
            text = f"{field_class} withheld: {origin} may not send it (national restriction)"
            blocking.setdefault(field_class, []).append(Reason(restriction.cite, text))
    for restriction in rules.restrictions_of(receiver):
        for field_class in sorted(restriction.no_receive):
            text = f"{field_class} withheld: {receiver} may not receive it (national restriction)"
            blocking.setdefault(field_class, []).append(Reason(restriction.cite, text))
    no_onward = tuple(
        Reason(a.cite, "does not permit onward sharing") for a in matching if not a.onward_sharing
    )
    grant = _Grant(True, frozenset(covered - blocking.keys()), not no_onward, no_onward)
    return _Basis(
        "evaluate",
        tuple(reasons),
        grant=grant,
        matching=matching,
        covered=frozenset(covered),
        blocking={k: tuple(v) for k, v in blocking.items()},
        **common,
    )


def _why_not_applicable(agreement: Agreement, record_type: str, day: date) -> str:
    if record_type not in agreement.record_types:
        return f"does not cover record type {record_type}"
    if day < agreement.valid_from:
        return f"not yet in force on {day.isoformat()}: valid from {agreement.valid_from}"
    return f"no longer in force on {day.isoformat()}: valid until {agreement.valid_until}"


def _decide(reader: Reader, record: RecordFacts, rules: Rules, at: datetime) -> Decision:
    if at.tzinfo is None or at.utcoffset() is None:
        # A naive time would be read in the host's zone: not deterministic.
        raise ValueError("decision time must be timezone-aware")
    day = (at if at.tzinfo is UTC else at.astimezone(UTC)).date()
    carried = record.field_classes
    if type(carried) is not frozenset:
        carried = frozenset(carried)
    origin = record.originator_participant
    is_originator = reader.participant == origin and reader.agency == record.originator_agency
    basis = _basis(rules, reader, origin, is_originator, record.record_type, day)
    if basis.access == "deny":
        return _denied(basis.reasons, carried, rules)
    if basis.access == "metadata":
        return _metadata(basis.reasons, record, carried, rules)
    grant = basis.grant
    if not grant.allowed:
        return _refused(basis, basis.reasons, record, carried, rules)

    # Step 3: the originator's controls. They yield a verdict and reasons only;
    # the verdict is combined with the grant by "and" below.
    controls_pass, control_reasons = _controls(basis, record, reader)
    allowed = grant.allowed and controls_pass
    if not allowed:
        return _refused(basis, basis.reasons + control_reasons, record, carried, rules)

    disclosed = carried if grant.classes is None else carried & grant.classes
    withheld = carried - disclosed
    details: list[Reason] = []
    for field_class in sorted(withheld):
        details.extend(basis.withheld_reasons(field_class))
    # Step 4: onward sharing. Again the record only takes away.
    tlp, handling = record.tlp, record.handling
    onward = grant.onward_sharing
    details.extend(grant.onward_reasons)
    if "H2" in handling:
        details.append(_H2_REASON)
        onward = False
    if tlp in _NO_ONWARD_LABELS or tlp not in _KNOWN_TLP:
        details.append(
            _NO_ONWARD_TLP.get(tlp)
            or Reason(CITE_TLP, f"TLP {tlp}: not to be forwarded or exported: no onward sharing")
        )
        onward = False
    return Decision(
        allowed=True,
        view="full",
        disclosed=disclosed,
        withheld=withheld,
        reasons=basis.reasons + control_reasons + tuple(details),
        notices=_notices(handling),
        onward_sharing=onward,
        rules_sha256=rules.sha256,
    )


def _controls(
    basis: _Basis, record: RecordFacts, reader: Reader
) -> tuple[bool, tuple[Reason, ...]]:
    """Whether the record's TLP, recipients and handling codes let this reader through, and why."""
    if basis.relation == "originator":
        # The originator is bound by nothing it signed for others.
        return True, ()
    tlp = record.tlp
    if tlp not in _KNOWN_TLP:
        text = (
            f"unknown TLP label {tlp!r}: denied (fail closed); expected one of "
            f"{', '.join(TLP_LEVELS)}"
        )
        return False, (Reason(CITE_TLP, text),)
    recipients = record.recipients
    opened = basis.open_tlp.get(tlp)
    if opened is not None and (tlp != "AMBER" or basis.relation == "same-participant"):
        reasons: tuple[Reason, ...] = (opened,)
    elif tlp == "AMBER":
        participant = reader.participant
        prefix = participant + "/"
        if not any(r == participant or r.startswith(prefix) for r in recipients):
            named = ", ".join(recipients) or "none"
            text = f"{participant} is not named in the recipients ({named}): denied"
            return False, (_AMBER_REASON, Reason(CITE_RECIPIENTS, text))
        text = f"{participant} is named in the recipients"
        reasons = (_AMBER_REASON, Reason(CITE_RECIPIENTS, text))
    else:
        # AMBER+STRICT and RED: the agency itself must be named.
        label = _AGENCY_TLP[tlp]
        path = reader.path
        if path not in recipients:
            named = ", ".join(recipients) or "none"
            text = f"{path} is not named in the recipients ({named}): denied"
            return False, (label, Reason(CITE_RECIPIENTS, text))
        reasons = (label, Reason(CITE_RECIPIENTS, f"{path} is named in the recipients"))
    handling = record.handling
    if handling and not _KNOWN_HANDLING.issuperset(handling):
        unknown = ", ".join(sorted(set(handling) - _KNOWN_HANDLING))
        text = (
            f"unknown handling code(s) {unknown}: denied (fail closed); "
            f"expected {', '.join(HANDLING_CODES)}"
        )
        return False, (*reasons, Reason(CITE_HANDLING, text))
    return True, reasons


def _refused(
    basis: _Basis,
    reasons: tuple[Reason, ...],
    record: RecordFacts,
    carried: frozenset[str],
    rules: Rules,
) -> Decision:
    if basis.fallback is not None:
        return _metadata((*reasons, basis.fallback), record, carried, rules)
    return _denied(reasons, carried, rules)


def _denied(reasons: tuple[Reason, ...], carried: frozenset[str], rules: Rules) -> Decision:
    return Decision(
        allowed=False,
        view="none",
        disclosed=_NOTHING,
        withheld=carried,
        reasons=reasons,
        notices=(),
        onward_sharing=False,
        rules_sha256=rules.sha256,
    )


def _metadata(
    reasons: tuple[Reason, ...], record: RecordFacts, carried: frozenset[str], rules: Rules
) -> Decision:
    return Decision(
        allowed=True,
        view="metadata",
        disclosed=_NOTHING,
        withheld=carried,
        reasons=reasons,
        notices=_notices(record.handling),
        onward_sharing=False,
        rules_sha256=rules.sha256,
    )


def _notices(handling: tuple[str, ...]) -> tuple[str, ...]:
    """Notices that travel with every display of the record (H1, H3)."""
    if not handling:
        return ()
    return _NOTICES["H1" in handling, "H3" in handling]


_NOTICES: Final = {
    (False, False): (),
    (True, False): (H1_NOTICE,),
    (False, True): (H3_NOTICE,),
    (True, True): (H1_NOTICE, H3_NOTICE),
}
_AMBER_REASON: Final = Reason(
    CITE_TLP, "TLP AMBER: limited to the participants named in the recipients"
)
_AGENCY_TLP: Final = {
    label: Reason(CITE_TLP, f"TLP {label}: limited to the agencies named in the recipients")
    for label in ("AMBER+STRICT", "RED")
}
_NO_ONWARD_TLP: Final = {
    label: Reason(CITE_TLP, f"TLP {label}: not to be forwarded or exported: no onward sharing")
    for label in ("AMBER+STRICT", "RED")
}
_H2_REASON: Final = Reason(
    CITE_HANDLING,
    "H2: not to be disseminated further without the provider's permission: no onward sharing",
)
_AUDITOR_ONLY: Final = (
    "{path} has the auditor role without reader: headers and the log only, never the body "
    "or disclosures"
)
_AUDITOR_FALLBACK: Final = (
    "{path} also has the auditor role: headers and the log only, never the body or disclosures"
)
_NO_READER_ROLE: Final = (
    "{path} has role(s) {roles}; reading records needs the reader role (or auditor, for "
    "headers): denied"
)
