"""A mutual-TLS gRPC channel for a profile."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from cryptography import x509

from silkline.profiles import Profile


class LocalCertificateError(Exception):
    """Our own client certificate cannot work; caught before any call is made."""


def open_channel(profile: Profile, *, now: datetime | None = None) -> grpc.Channel:
    """A channel to the profile's endpoint, authenticating with its client certificate."""
    return grpc.secure_channel(profile.endpoint, channel_credentials(profile, now=now))


def open_aio_channel(profile: Profile, *, now: datetime | None = None) -> grpc.aio.Channel:
    """The same channel for asyncio code (streams: watch, feed)."""
    return grpc.aio.secure_channel(profile.endpoint, channel_credentials(profile, now=now))


def channel_credentials(
    profile: Profile, *, now: datetime | None = None
) -> grpc.ChannelCredentials:
    """Mutual-TLS credentials of a profile, after checking our own certificate."""
    try:
        ca = profile.ca.read_bytes()
        cert = profile.cert.read_bytes()
        key = profile.key.read_bytes()
    except OSError as exc:
        raise LocalCertificateError(f"profile {profile.name!r}: {exc}") from exc
    check_own_certificate(cert, now=now)
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


def check_own_certificate(cert_pem: bytes, *, now: datetime | None = None) -> None:
    """Refuse locally what the server would refuse with a less helpful TLS error."""
    now = now or datetime.now(UTC)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise LocalCertificateError(f"client certificate cannot be parsed: {exc}") from exc
    if now > cert.not_valid_after_utc:
        raise LocalCertificateError(
            f"client certificate expired at {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}; "
            "ask your participant's CA for a new one"
        )
    if now < cert.not_valid_before_utc:
        raise LocalCertificateError(
            f"client certificate not valid before {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
        )
