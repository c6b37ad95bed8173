"""Server configuration: a TOML file, with command-line overrides.

Relative paths in the file are resolved against the file's own folder, so a
config can sit beside the certificates it names. Unknown keys are refused:
a misspelt setting silently ignored is a security setting not applied.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from silkline.formats.note import (
    SIGNATURE_TYPE_COSIGNATURE_V1,
    NoteError,
    NoteVerifier,
    parse_verifier_key,
)

DEFAULT_LISTEN = "127.0.0.1:7443"
DEFAULT_DATABASE = "sqlite:///silkline.db"


class ConfigError(ValueError):
    """The configuration file is unusable; the message names the key and the problem."""


@dataclass(frozen=True)
class ParticipantConfig:
    code: str
    ca: Path
    crl: Path | None


@dataclass(frozen=True)
class LogConfig:
    """The log's identity: its origin line and the Ed25519 key that signs for it."""

    origin: str
    private_key: Path


@dataclass(frozen=True)
class ServerConfig:
    listen: str
    database: str
    server_certificate: Path
    server_private_key: Path
    participants: tuple[ParticipantConfig, ...]
    log: LogConfig
    rules: Path
    grace_period_s: float = 10.0
    max_envelope_bytes: int = 1024 * 1024
    log_format: str = "auto"
    max_message_bytes: int = 4 * 1024 * 1024
    # Subscribe: a heartbeat after this long idle; a subscriber whose write has not
    # completed in write_timeout_s, or that lags by more than max_lag records, is ended.
    heartbeat_interval_s: float = 15.0
    subscriber_write_timeout_s: float = 10.0
    subscriber_max_lag: int = 10_000
    # Witnesses whose C2SP tlog-cosignature/v1 the log accepts (AddCosignature).
    witnesses: tuple[NoteVerifier, ...] = ()
    # [metrics] listen: HOST:PORT of the plain-HTTP Prometheus endpoint; None: no endpoint.
    metrics_listen: str | None = None
    source: Path | None = field(default=None, compare=False)


_TOP_KEYS = {
    "listen",
    "database",
    "grace_period_s",
    "log_format",
    "max_message_bytes",
    "max_envelope_bytes",
    "heartbeat_interval_s",
    "subscriber_write_timeout_s",
    "subscriber_max_lag",
    "tls",
    "participants",
    "log",
    "rules",
    "witnesses",
    "metrics",
}
_METRICS_KEYS = {"listen"}
_LOG_KEYS = {"origin", "private_key"}
_WITNESS_KEYS = {"keys"}
_TLS_KEYS = {"certificate", "private_key"}
_PARTICIPANT_KEYS = {"ca", "crl"}
_LOG_FORMATS = {"auto", "json", "console"}
_MAX_INTERVAL_S = 3600.0


def load_config(path: Path) -> ServerConfig:
    """Parse and check a server config file."""
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse_config(raw, base=path.resolve().parent, source=path)


def parse_config(raw: dict[str, Any], *, base: Path, source: Path | None = None) -> ServerConfig:
    where = str(source) if source else "config"
    _refuse_unknown(raw, _TOP_KEYS, where)
    tls = _table(raw, "tls", where)
    _refuse_unknown(tls, _TLS_KEYS, f"{where} [tls]")
    participants_raw = _table(raw, "participants", where)
    if not participants_raw:
        raise ConfigError(f"{where}: [participants.<CODE>] tables are required (ca, crl)")
    participants = []
    for code, entry in sorted(participants_raw.items()):
        section = f"{where} [participants.{code}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{section}: expected a table with 'ca' and optional 'crl'")
        _refuse_unknown(entry, _PARTICIPANT_KEYS, section)
        crl = entry.get("crl")
        participants.append(
            ParticipantConfig(
                code=code,
                ca=_path(entry, "ca", base, section),
                crl=_path(entry, "crl", base, section) if crl is not None else None,
            )
        )
    log_table = _table(raw, "log", where)
    _refuse_unknown(log_table, _LOG_KEYS, f"{where} [log]")
    origin = _typed(log_table, "origin", str, "", f"{where} [log]")
    if not origin or any(c.isspace() for c in origin) or "+" in origin:
        raise ConfigError(
            f"{where} [log]: 'origin' is required: a name without spaces or '+', "
            "for example 'silkline.example/log'"
        )
    witnesses = _witnesses(_table(raw, "witnesses", where), f"{where} [witnesses]")
    log_format = _typed(raw, "log_format", str, "auto", where)
    if log_format not in _LOG_FORMATS:
        raise ConfigError(f"{where}: log_format must be one of {sorted(_LOG_FORMATS)}")
    grace = _typed(raw, "grace_period_s", (int, float), 10.0, where)
    max_bytes = _typed(raw, "max_message_bytes", int, 4 * 1024 * 1024, where)
    max_envelope = _typed(raw, "max_envelope_bytes", int, 1024 * 1024, where)
    if grace < 0 or max_bytes <= 0 or max_envelope <= 0:
        raise ConfigError(
            f"{where}: grace_period_s must be >= 0, max_message_bytes and max_envelope_bytes > 0"
        )
    if max_envelope > max_bytes:
        raise ConfigError(f"{where}: max_envelope_bytes cannot exceed max_message_bytes")
    heartbeat = _typed(raw, "heartbeat_interval_s", (int, float), 15.0, where)
    write_timeout = _typed(raw, "subscriber_write_timeout_s", (int, float), 10.0, where)
    max_lag = _typed(raw, "subscriber_max_lag", int, 10_000, where)
    if not all(0 < seconds <= _MAX_INTERVAL_S for seconds in (heartbeat, write_timeout)):
        raise ConfigError(
            f"{where}: heartbeat_interval_s and subscriber_write_timeout_s must be seconds "
            f"in (0, {_MAX_INTERVAL_S}]"
        )
    if max_lag < 1:
        raise ConfigError(f"{where}: subscriber_max_lag must be at least 1 (records)")
    listen = _typed(raw, "listen", str, DEFAULT_LISTEN, where)
    metrics_listen = _metrics_listen(_table(raw, "metrics", where), listen, f"{where} [metrics]")
    return ServerConfig(
        listen=listen,
        database=resolve_database_url(_typed(raw, "database", str, DEFAULT_DATABASE, where), base),
        server_certificate=_path(tls, "certificate", base, f"{where} [tls]"),
        server_private_key=_path(tls, "private_key", base, f"{where} [tls]"),
        participants=tuple(participants),
        rules=_path(raw, "rules", base, where),
        log=LogConfig(origin, _path(log_table, "private_key", base, f"{where} [log]")),
        grace_period_s=float(grace),
        max_envelope_bytes=max_envelope,
        log_format=log_format,
        max_message_bytes=max_bytes,
        heartbeat_interval_s=float(heartbeat),
        subscriber_write_timeout_s=float(write_timeout),
        subscriber_max_lag=max_lag,
        witnesses=witnesses,
        metrics_listen=metrics_listen,
        source=source,
    )


def _metrics_listen(table: dict[str, Any], listen: str, where: str) -> str | None:
    """[metrics] listen, checked; None (no endpoint) when the table or the key is absent."""
    _refuse_unknown(table, _METRICS_KEYS, where)
    value: str = _typed(table, "listen", str, "", where)
    if not value:
        if "listen" in table:
            raise ConfigError(f"{where}: 'listen' is empty; leave [metrics] out for no endpoint")
        return None
    host, port = parse_listen_address(value, f"{where} listen")
    if _same_address(parse_listen_address(listen, "listen", strict=False), (host, port)):
        raise ConfigError(f"{where}: 'listen' {value!r} is the gRPC listen address")
    return value


def parse_listen_address(
    value: str, where: str = "listen address", *, strict: bool = True
) -> tuple[str, int]:
    """`HOST:PORT` (`[IPv6]:PORT` for an IPv6 address) as (host, port); port 0 picks a free one.

    Raises ConfigError naming `where` when `value` is not of that form. With
    strict=False a malformed value gives ("", -1) instead (for comparisons only).
    """
    host, colon, port_text = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        well_formed = ":" in host
    else:
        well_formed = ":" not in host
    well_formed = well_formed and bool(colon and host) and not any(c.isspace() for c in host)
    if well_formed and port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535:
        return host, int(port_text)
    if not strict:
        return "", -1
    raise ConfigError(
        f"{where}: {value!r} is not HOST:PORT with a port from 0 to 65535 "
        "(an IPv6 address in brackets, e.g. '[::1]:9464')"
    )


def _same_address(one: tuple[str, int], other: tuple[str, int]) -> bool:
    """Whether two listen addresses would claim the same port (port 0 never clashes)."""
    wildcard = {"0.0.0.0", "::"}  # noqa: S104 (names the wildcard, binds nothing)
    hosts_overlap = one[0] == other[0] or one[0] in wildcard or other[0] in wildcard
    return one[1] == other[1] and one[1] > 0 and hosts_overlap


def _witnesses(table: dict[str, Any], where: str) -> tuple[NoteVerifier, ...]:
    """Witness verifier keys: `<name>+<hex key ID>+<base64(0x04 || Ed25519 key)>`."""
    _refuse_unknown(table, _WITNESS_KEYS, where)
    keys = _typed(table, "keys", list, [], where)
    witnesses: list[NoteVerifier] = []
    for position, key in enumerate(keys):
        if not isinstance(key, str):
            raise ConfigError(f"{where}: keys[{position}] must be a verifier key string")
        try:
            witness = parse_verifier_key(key.strip())
        except NoteError as exc:
            raise ConfigError(f"{where}: keys[{position}]: {exc}") from exc
        if witness.signature_type != SIGNATURE_TYPE_COSIGNATURE_V1:
            raise ConfigError(
                f"{where}: keys[{position}] ({witness.name}) is a key of type "
                f"0x{witness.signature_type:02x}; witnesses cosign with cosignature/v1 keys "
                "(type 0x04), as `silkline witness --show-vkey` prints them"
            )
        if witness in witnesses:
            raise ConfigError(f"{where}: keys[{position}] ({witness.name}) is listed twice")
        witnesses.append(witness)
    return tuple(witnesses)


def resolve_database_url(url: str, base: Path) -> str:
    """Make a relative SQLite path relative to `base` (the config file's folder)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url


def _refuse_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(known)}")


def _table(raw: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a table")
    return value


def _typed(
    raw: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, where: str
) -> Any:
    value = raw.get(key, default)
    # bool is an int in Python; a flag written as 1 or a number written as true is a mistake.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}: '{key}' has the wrong type: {value!r}")
    return value


def _path(table: dict[str, Any], key: str, base: Path, where: str) -> Path:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{key}' (a file path) is required")
    return (base / value).resolve()
