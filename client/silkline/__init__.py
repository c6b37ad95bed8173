"""silkline: what agencies, feeds and auditors install (CLI, formats, verification)."""

__version__ = "0.1.0"
