"""Per-country access rules: the rules file and the fail-closed evaluator that explains itself.

Pure and deterministic, with no I/O except :func:`load_rules` reading the
file, so the server, ``silkline policy check`` and ``silkline policy explain``
all decide with the same code, online or offline.
"""

from silkline.policy.decision import (
    TLP_LEVELS,
    Decision,
    Reader,
    Reason,
    RecordFacts,
    decide,
)
from silkline.policy.rules import (
    FORMAT_VERSION,
    AgencyEntry,
    Agreement,
    FieldClass,
    Network,
    Participant,
    Restriction,
    Retention,
    Rules,
    RulesError,
    RulesProblem,
    load_rules,
    parse_rules,
)

__all__ = [
    "FORMAT_VERSION",
    "TLP_LEVELS",
    "AgencyEntry",
    "Agreement",
    "Decision",
    "FieldClass",
    "Network",
    "Participant",
    "Reader",
    "Reason",
    "RecordFacts",
    "Restriction",
    "Retention",
    "Rules",
    "RulesError",
    "RulesProblem",
    "decide",
    "load_rules",
    "parse_rules",
]
