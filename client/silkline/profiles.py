"""Agency profiles: which endpoint to call, with which certificates and keys.

Stored in ``$XDG_CONFIG_HOME/silkline/config.toml`` (``~/.config`` when unset).
Paths are stored absolute so a profile works from any folder.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w

PROFILE_ENV = "SILKLINE_PROFILE"
_FIELDS = ("endpoint", "ca", "cert", "key", "signing_key", "signing_cert")


class ProfileError(Exception):
    """No usable profile; the message says how to make one."""


@dataclass(frozen=True)
class Profile:
    name: str
    endpoint: str
    ca: Path
    cert: Path
    key: Path
    signing_key: Path | None = None
    signing_cert: Path | None = None


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "silkline" / "config.toml"


@dataclass
class ProfileBook:
    """All profiles in the config file, and which one is current."""

    profiles: dict[str, Profile]
    current: str | None
    path: Path

    @classmethod
    def load(cls, path: Path | None = None) -> ProfileBook:
        path = path or config_path()
        if not path.exists():
            return cls({}, None, path)
        try:
            raw = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"{path}: {exc}") from exc
        profiles = {}
        for name, entry in raw.get("profiles", {}).items():
            profiles[name] = _profile_from_toml(name, entry, path)
        current = raw.get("current")
        return cls(profiles, current if isinstance(current, str) else None, path)

    def save(self) -> None:
        doc: dict[str, Any] = {}
        if self.current:
            doc["current"] = self.current
        doc["profiles"] = {
            name: {k: str(v) for k, v in asdict(p).items() if k != "name" and v is not None}
            for name, p in sorted(self.profiles.items())
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".toml.tmp")
        tmp.write_text(tomli_w.dumps(doc))
        os.replace(tmp, self.path)

    def add(self, profile: Profile, *, make_current: bool) -> None:
        self.profiles[profile.name] = profile
        if make_current or self.current is None:
            self.current = profile.name

    def use(self, name: str) -> None:
        if name not in self.profiles:
            raise ProfileError(
                f"no profile named {name!r}; known: {', '.join(sorted(self.profiles)) or 'none'}"
            )
        self.current = name

    def select(self, name: str | None = None) -> Profile:
        """The profile named, else $SILKLINE_PROFILE, else the current one."""
        chosen = name or os.environ.get(PROFILE_ENV) or self.current
        if chosen is None:
            raise ProfileError(
                f"no profile configured in {self.path}; add one with "
                "`silkline profile add NAME --endpoint HOST:PORT --ca CA.crt "
                "--cert AGENCY.crt --key AGENCY.key`"
            )
        if chosen not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ProfileError(f"no profile named {chosen!r} in {self.path}; known: {known}")
        return self.profiles[chosen]


def _profile_from_toml(name: str, entry: Any, path: Path) -> Profile:
    if not isinstance(entry, dict):
        raise ProfileError(f"{path}: [profiles.{name}] must be a table")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise ProfileError(f"{path}: [profiles.{name}] has unknown key(s) {unknown}")
    missing = [k for k in ("endpoint", "ca", "cert", "key") if not entry.get(k)]
    if missing:
        raise ProfileError(f"{path}: [profiles.{name}] lacks {', '.join(missing)}")

    def optional(key: str) -> Path | None:
        return Path(entry[key]) if entry.get(key) else None

    return Profile(
        name=name,
        endpoint=str(entry["endpoint"]),
        ca=Path(entry["ca"]),
        cert=Path(entry["cert"]),
        key=Path(entry["key"]),
        signing_key=optional("signing_key"),
        signing_cert=optional("signing_cert"),
    )
