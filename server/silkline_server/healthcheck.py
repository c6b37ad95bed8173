"""`python -m silkline_server.healthcheck`: is a silkline-server SERVING?

A probe for what cannot speak gRPC over mutual TLS itself: a container
engine's HEALTHCHECK, a Kubernetes exec probe (the built-in grpc probe has no
client certificate), a monitoring script. It calls the standard grpc.health.v1
Health/Check, presenting a client certificate because the server
authenticates every call, health included, and exits 0 when the answer is
SERVING, 1 otherwise, printing one line that says which or why. With
--liveness any answer, NOT_SERVING included, is enough: a replica waiting for
its database is alive and must not be restarted.

Only 0 and 1 are used, usage errors included: Docker reserves exit code 2 of
a HEALTHCHECK command.

Each option can also be set by an environment variable
(SILKLINE_HEALTHCHECK_TARGET, _CA, _CERT, _KEY, _SERVER_NAME, _SERVICE,
_LIVENESS, _TIMEOUT), so an image sets them once and the probe command stays short.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

DEFAULT_TARGET = "127.0.0.1:7443"
DEFAULT_TIMEOUT_S = 5.0

HEALTHY = 0
UNHEALTHY = 1


@dataclass(frozen=True)
class ProbeResult:
    """What the probe found: the serving status the server answered, or None, and why."""

    status: str | None
    reason: str

    @property
    def serving(self) -> bool:
        """The server answered SERVING: it takes calls (readiness)."""
        return self.status == "SERVING"

    @property
    def answered(self) -> bool:
        """The server answered SERVING or NOT_SERVING: the process is alive (liveness)."""
        return self.status in ("SERVING", "NOT_SERVING")


def probe(
    target: str,
    *,
    ca: Path,
    cert: Path,
    key: Path,
    server_name: str | None = None,
    service: str = "",
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ProbeResult:
    """Ask `target` for the health of `service` ("" is the whole server) over mutual TLS.

    `server_name` is the name the server certificate is checked against when
    `target` is an address the certificate does not name (127.0.0.1 inside a
    container whose certificate names the public host). Never raises for a
    failure: an unreadable file, a refused handshake or a timeout is an
    unhealthy result with its reason.
    """
    try:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(ca, "--ca"),
            private_key=_read(key, "--key"),
            certificate_chain=_read(cert, "--cert"),
        )
    except _UnreadableFileError as exc:
        return ProbeResult(None, str(exc))
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    with grpc.secure_channel(target, credentials, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
        except grpc.RpcError as exc:
            code = exc.code()
            details = exc.details()
            if code == grpc.StatusCode.NOT_FOUND:
                # grpc.health.v1: Check answers NOT_FOUND for a service it does not know.
                details = f"the server does not know the service {service!r}"
            return ProbeResult(None, f"{target}: {code.name}: {details}")
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    what = f"service {service!r}" if service else "server"
    return ProbeResult(status, f"{target} {what}: {status}")


class _UnreadableFileError(Exception):
    pass


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _UnreadableFileError(f"cannot read {option} {path}: {exc.strerror}") from exc


def _env(name: str) -> str:
    return f"SILKLINE_HEALTHCHECK_{name}"


_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command(name="healthcheck", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--target",
    envvar=_env("TARGET"),
    default=DEFAULT_TARGET,
    show_default=True,
    show_envvar=True,
    help="HOST:PORT of the silkline-server to ask.",
)
@click.option(
    "--ca",
    envvar=_env("CA"),
    required=True,
    show_envvar=True,
    type=_FILE,
    help="CA certificate(s) that issued the server certificate (PEM).",
)
@click.option(
    "--cert",
    envvar=_env("CERT"),
    required=True,
    show_envvar=True,
    type=_FILE,
    help="The probe's client certificate (PEM), issued by a participant's CA.",
)
@click.option(
    "--key",
    envvar=_env("KEY"),
    required=True,
    show_envvar=True,
    type=_FILE,
    help="Its private key (PEM).",
)
@click.option(
    "--server-name",
    envvar=_env("SERVER_NAME"),
    show_envvar=True,
    help="Check the server certificate against this name instead of the target's host.",
)
@click.option(
    "--service",
    envvar=_env("SERVICE"),
    default="",
    show_envvar=True,
    help='Service to ask about, e.g. silkline.v1.RecordsService; "" (the default) is the '
    "whole server.",
)
@click.option(
    "--liveness",
    is_flag=True,
    envvar=_env("LIVENESS"),
    show_envvar=True,
    help="Succeed on any health answer, NOT_SERVING included: the process is alive. "
    "For liveness probes, which must not restart a replica that waits for its database.",
)
@click.option(
    "--timeout",
    "timeout_s",
    envvar=_env("TIMEOUT"),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    show_envvar=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds to wait for the answer.",
)
def _command(
    target: str,
    ca: Path,
    cert: Path,
    key: Path,
    server_name: str | None,
    service: str,
    liveness: bool,
    timeout_s: float,
) -> int:
    """Exit 0 if a silkline-server answers SERVING to grpc.health.v1 over mutual TLS, else 1.

    With --liveness, NOT_SERVING is enough.
    """
    result = probe(
        target,
        ca=ca,
        cert=cert,
        key=key,
        server_name=server_name,
        service=service,
        timeout_s=timeout_s,
    )
    healthy = result.answered if liveness else result.serving
    click.echo(result.reason, err=not healthy)
    return HEALTHY if healthy else UNHEALTHY


def main(argv: Sequence[str] | None = None) -> int:
    """Run the probe and return the exit status (0 SERVING, 1 anything else)."""
    try:
        status = _command.main(
            args=list(argv) if argv is not None else None,
            prog_name="python -m silkline_server.healthcheck",
            standalone_mode=False,
        )
    except click.ClickException as exc:
        exc.show()
        return UNHEALTHY
    except click.Abort:
        return UNHEALTHY
    # --help returns its exit code (0); a probe run returns its status.
    return status if isinstance(status, int) else UNHEALTHY


if __name__ == "__main__":
    sys.exit(main())
