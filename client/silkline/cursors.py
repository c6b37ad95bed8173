"""Where `silkline watch` stopped: one cursor per profile and filter.

Kept in ``$XDG_STATE_HOME/silkline/cursors.toml``, or beside the profiles'
config file when XDG_STATE_HOME is unset, so that a demo or test that points
XDG_CONFIG_HOME elsewhere keeps its cursors there too. A cursor is the log
index to deliver from next. Cursors are per filter as well as per profile: a
watch of arrests only must not make a later watch of everything skip the
seizures in between.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import tomli_w

from silkline.profiles import ProfileError, config_path


def cursors_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME")
    if state:
        return Path(state) / "silkline" / "cursors.toml"
    return config_path().parent / "cursors.toml"


def filter_key(
    record_types: Sequence[str], originators: Sequence[str], since: datetime | None
) -> str:
    """A stable name for a filter: 'all', or its parts in a fixed order."""
    parts = []
    if record_types:
        parts.append("type=" + ",".join(sorted(record_types)))
    if originators:
        parts.append("originator=" + ",".join(sorted(originators)))
    if since is not None:
        parts.append("since=" + since.isoformat())
    return ";".join(parts) or "all"


@dataclass
class CursorBook:
    """The remembered cursors: profile -> filter key -> cursor."""

    path: Path
    cursors: dict[str, dict[str, int]]

    @classmethod
    def load(cls, path: Path | None = None) -> CursorBook:
        path = path or cursors_path()
        if not path.exists():
            return cls(path, {})
        try:
            raw = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ProfileError(f"{path}: cannot read the remembered cursors: {exc}") from exc
        cursors: dict[str, dict[str, int]] = {}
        for profile, table in raw.get("profiles", {}).items():
            if not isinstance(table, dict):
                raise ProfileError(f"{path}: [profiles.{profile}] must be a table")
            cursors[profile] = {
                key: value
                for key, value in table.items()
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0
            }
        return cls(path, cursors)

    def get(self, profile: str, key: str) -> int | None:
        return self.cursors.get(profile, {}).get(key)

    def set(self, profile: str, key: str, cursor: int) -> None:
        self.cursors.setdefault(profile, {})[key] = cursor

    def save(self) -> None:
        """Write atomically: a watch killed mid-write leaves the previous file whole."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(tomli_w.dumps({"profiles": self.cursors}))
        os.replace(tmp, self.path)
