"""deploy/k8s/: Kubernetes' own schemas, the restricted pod profile, probes and mounts.

No cluster runs here. Every manifest is validated, strictly (unknown fields
refused), against the OpenAPI-derived JSON schemas that the PyPI package
kubernetes-validate ships, for the oldest and the newest Kubernetes minor
release it knows; then checked for what the deployment promises.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.deploy.tooling import DEPLOY, load_yaml_documents, migration_command, require_module

K8S = DEPLOY / "k8s"
PROD_CONFIG = DEPLOY / "prod" / "server.toml"
RULES = DEPLOY / "rules" / "network.toml"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
INSTALL = "pip install kubernetes-validate (ships the Kubernetes schemas)"
OLDEST_CHECKED = "1.30"


def documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in load_yaml_documents(path)]


def only(kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [
        doc
        for doc in documents()
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    return found


def kubernetes_versions() -> list[str]:
    validate = require_module("kubernetes_validate", install=INSTALL)
    latest = validate.latest_version()
    return [OLDEST_CHECKED, ".".join(latest.split(".")[:2])]


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_against_the_kubernetes_schemas(manifest: Path) -> None:
    validate = require_module("kubernetes_validate", install=INSTALL)
    for version in kubernetes_versions():
        for document in load_yaml_documents(manifest):
            try:
                validate.validate(document, version, strict=True)
            except validate.ValidationError as exc:
                pytest.fail(f"{manifest.name} against Kubernetes {version}: {exc.message}")


def test_strict_validation_refuses_an_unknown_field() -> None:
    validate = require_module("kubernetes_validate", install=INSTALL)
    deployment = only("Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(validate.ValidationError):
        validate.validate(broken, kubernetes_versions()[-1], strict=True)


def test_kustomization_lists_every_manifest_but_the_migration_job() -> None:
    (kustomization,) = load_yaml_documents(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {p.name for p in MANIFESTS}
    assert listed == present - {"job-migrate.yaml"}, "the Job runs first, by itself"


def test_kustomize_renders_the_manifests() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        # kubectl comes from no registry these machines reach: never required in CI.
        pytest.skip("kubectl is not installed; the kustomization is checked structurally above")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "kind: Deployment" in result.stdout


def test_no_secret_value_is_in_the_repository() -> None:
    for doc in documents():
        assert doc["kind"] != "Secret", (
            f"{doc['metadata']['name']}: Secrets are created by the operator"
        )
    for path in MANIFESTS:
        text = path.read_text()
        assert "BEGIN" not in text or "PRIVATE KEY" not in text, path.name
        assert not re.search(r"^\s*(stringData|password):", text, re.M), path.name


def test_config_maps_carry_the_files_of_the_repository_verbatim() -> None:
    assert only("ConfigMap", "silkline-config")["data"]["server.toml"] == PROD_CONFIG.read_text(), (
        "deploy/k8s/configmap.yaml is stale: copy deploy/prod/server.toml into it"
    )
    assert only("ConfigMap", "silkline-rules")["data"]["network.toml"] == RULES.read_text(), (
        "deploy/k8s/configmap-rules.yaml is stale: copy deploy/rules/network.toml into it"
    )


def pod_specs() -> dict[str, dict[str, Any]]:
    return {
        "Deployment": only("Deployment")["spec"]["template"]["spec"],
        "Job": only("Job")["spec"]["template"]["spec"],
    }


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_pods_meet_the_restricted_pod_security_standard(kind: str) -> None:
    spec = pod_specs()[kind]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    for container in spec["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["runAsNonRoot"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        assert "add" not in security["capabilities"]
        assert "resources" in container
    for volume in spec["volumes"]:
        assert "hostPath" not in volume
    assert only("Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )


def test_two_replicas_roll_without_losing_capacity() -> None:
    deployment = only("Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = only("PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (deployment["spec"]["selector"], budget["spec"]["selector"]):
        assert selector["matchLabels"].items() <= pod_labels.items()


def test_probes_use_the_mutual_tls_health_client() -> None:
    (container,) = only("Deployment")["spec"]["template"]["spec"]["containers"]
    module = ["python", "-m", "silkline_server.healthcheck"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        # Kubernetes' grpc probe cannot present a client certificate.
        assert set(container[probe]) & {"grpc", "tcpSocket", "httpGet"} == set(), probe
        assert container[probe]["exec"]["command"][:3] == module, probe
        assert container[probe]["timeoutSeconds"] > 5, f"{probe}: the probe waits 5 s"
    assert container["readinessProbe"]["exec"]["command"] == module, "readiness needs SERVING"
    # A replica waiting for PostgreSQL answers NOT_SERVING: out of the Service, not restarted.
    assert container["livenessProbe"]["exec"]["command"] == [*module, "--liveness"]
    server_name = {e["name"]: e for e in container["env"]}["SILKLINE_HEALTHCHECK_SERVER_NAME"]
    key = server_name["valueFrom"]["configMapKeyRef"]
    assert key["key"] in only("ConfigMap", key["name"])["data"]


def test_drain_fits_in_the_termination_grace_period() -> None:
    grace = tomllib.loads(PROD_CONFIG.read_text())["grace_period_s"]
    spec = only("Deployment")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert spec["terminationGracePeriodSeconds"] > grace + int(pre_stop[1])


def mounted_paths(spec: dict[str, Any], container: dict[str, Any]) -> set[str]:
    """Every file path the container sees from its volumes."""
    volumes = {v["name"]: v for v in spec["volumes"]}
    paths: set[str] = set()
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "subPath" in mount:
            paths.add(mount["mountPath"])
            continue
        sources = volume.get("projected", {}).get("sources") or [volume]
        for source in sources:
            kind = next((k for k in ("configMap", "secret") if k in source), None)
            if kind is None:
                continue  # emptyDir: nothing of ours is read from it
            items = source[kind].get("items")
            if items is None:
                paths.add(mount["mountPath"] + "/*")
            else:
                paths.update(f"{mount['mountPath']}/{item['path']}" for item in items)
    return paths


def _covered(path: str, mounted: set[str]) -> bool:
    return path in mounted or f"{path.rsplit('/', 1)[0]}/*" in mounted


def test_server_sees_every_file_server_toml_and_the_probe_name() -> None:
    config = tomllib.loads(PROD_CONFIG.read_text())
    spec = only("Deployment")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    mounted = mounted_paths(spec, container)
    needed = [
        "/etc/silkline/server.toml",
        config["rules"],
        config["tls"]["certificate"],
        config["tls"]["private_key"],
        config["log"]["private_key"],
        make_url(config["database"]).query["sslrootcert"],
        # The probe's defaults (Containerfile ENV).
        "/etc/silkline/tls/hub-ca.crt",
        "/etc/silkline/tls/probe.crt",
        "/etc/silkline/private/probe.key",
    ]
    for participant in config["participants"].values():
        needed += [participant["ca"], participant["crl"]]
    for path in needed:
        assert _covered(path, mounted), f"{path} is not mounted; mounted: {sorted(mounted)}"
    # Keys come from Secrets only, readable by the pod's group alone.
    private = {v["name"]: v for v in spec["volumes"]}["private"]["projected"]
    assert private["defaultMode"] == 0o440
    assert all("secret" in source for source in private["sources"])


def test_database_password_comes_from_a_secret() -> None:
    for kind, spec in pod_specs().items():
        for container in spec["containers"]:
            env = {e["name"]: e for e in container["env"]}
            assert "value" not in env["PGPASSWORD"], kind
            assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "silkline-database"
    url = make_url(tomllib.loads(PROD_CONFIG.read_text())["database"])
    assert url.password is None, "no password in server.toml: libpq reads PGPASSWORD"


def test_migration_job_runs_the_compose_migration_command() -> None:
    job = only("Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    # The image's entrypoint (silkline-server) with compose's arguments.
    assert "command" not in container
    assert container["args"] == migration_command()
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    deployment_image = only("Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert container["image"] == deployment_image
    # The Job sees the configuration and PostgreSQL's CA; no TLS or log key.
    spec = job["spec"]["template"]["spec"]
    mounted = mounted_paths(spec, container)
    assert "/etc/silkline/server.toml" in mounted
    assert not any("/private/" in path for path in mounted)


def test_service_passes_tcp_through_to_the_grpc_port() -> None:
    service = only("Service")
    deployment = only("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (port,) = service["spec"]["ports"]
    assert port["protocol"] == "TCP"
    assert port["targetPort"] in {p["name"] for p in container["ports"]}
    config = tomllib.loads(PROD_CONFIG.read_text())
    listen_port = int(config["listen"].rsplit(":", 1)[1])
    metrics_port = int(config["metrics"]["listen"].rsplit(":", 1)[1])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": listen_port, "metrics": metrics_port}
    assert port["targetPort"] == "grpc", "metrics are plain HTTP: never in the Service"
    assert service["spec"]["selector"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )


def test_network_policy_admits_grpc_and_lets_out_only_dns_and_postgresql() -> None:
    policy = only("NetworkPolicy")
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    grpc, metrics = policy["spec"]["ingress"]
    assert [p["port"] for p in grpc["ports"]] == [7443]
    assert "from" not in grpc, "agencies connect from anywhere; mutual TLS decides"
    metrics_port = int(
        tomllib.loads(PROD_CONFIG.read_text())["metrics"]["listen"].rsplit(":", 1)[1]
    )
    assert [p["port"] for p in metrics["ports"]] == [metrics_port]
    (source,) = metrics["from"]
    assert set(source) == {"namespaceSelector"}, "metrics only from the monitoring namespace"
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {53, 5432}
    labels = only("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def test_pods_announce_their_metrics_port_to_prometheus() -> None:
    template = only("Deployment")["spec"]["template"]
    (container,) = template["spec"]["containers"]
    metrics = {p["name"]: p["containerPort"] for p in container["ports"]}["metrics"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(metrics)
    assert annotations["prometheus.io/path"] == "/metrics"


def test_every_manifest_is_in_the_silkline_namespace() -> None:
    for doc in documents():
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "silkline", doc["metadata"]["name"]
