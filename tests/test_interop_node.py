"""A gRPC client written in another language (Node.js, grpc-js) against our server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from .conftest import EXAMPLE, REPO, ServerProcess

NODE_DIR = REPO / "tests" / "node"
pytestmark = pytest.mark.node

UNAUTHENTICATED = 16


def node_health_check(server: ServerProcess, cert: str) -> dict[str, object]:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "CI must run the Node.js interop test: node or tests/node/node_modules missing"
            )
        pytest.skip(
            "Node.js or tests/node/node_modules missing (run `make test`, which installs them)"
        )
    result = subprocess.run(
        [
            node,
            str(NODE_DIR / "health_check.js"),
            server.target,
            str(EXAMPLE / "hub" / "ca.crt"),
            str(EXAMPLE / f"{cert}.crt"),
            str(EXAMPLE / f"{cert}.key"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    reply: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return reply


def test_node_client_with_an_agency_certificate_gets_serving(server: ServerProcess) -> None:
    assert node_health_check(server, "KZ/mvd") == {"status": "SERVING"}


def test_node_client_with_a_certificate_minted_by_another_participant_is_refused(
    server: ServerProcess,
) -> None:
    reply = node_health_check(server, "bad/kz-minted-by-in")
    assert reply["code"] == UNAUTHENTICATED
    assert "claims participant KZ" in str(reply["details"])
    server.wait_for_log("CrossParticipantCertificateError")
