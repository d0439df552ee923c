"""Rendered Kubernetes manifests: schema-valid built-in kinds and the shape issue 8 asks for."""
from __future__ import annotations

import kubernetes_validate
import pytest

from tests.deploy.conftest import OVERLAYS, SERVICE_PORTS, find, one

KUBERNETES_VERSION = "1.30"  # a version kubernetes-validate ships schemas for; bump with the clusters
ALL = ("base", *OVERLAYS)


def builtin(documents: list[dict]) -> list[dict]:
    return [d for d in documents if not d["apiVersion"].startswith("kafka.strimzi.io/")]


@pytest.mark.parametrize("variant", ALL)
def test_every_builtin_manifest_validates_against_the_pinned_kubernetes_schema(rendered, variant):
    failures = []
    for document in builtin(rendered[variant]):
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{document['kind']}/{document['metadata']['name']}: {error.message}")
    assert failures == []


@pytest.mark.parametrize("variant", ALL)
def test_everything_but_the_namespace_lives_in_the_replenish_namespace(rendered, variant):
    assert one(rendered[variant], "Namespace", "replenish")
    elsewhere = [d["metadata"]["name"] for d in rendered[variant]
                 if d["kind"] != "Namespace" and d["metadata"].get("namespace") != "replenish"]
    assert elsewhere == []


@pytest.mark.parametrize("variant", ALL)
@pytest.mark.parametrize("service", SERVICE_PORTS)
def test_each_service_runs_serve_with_probes_resources_and_no_root(rendered, variant, service):
    pod = one(rendered[variant], "Deployment", service)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve", service]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["REPLENISH_PORT"] == str(SERVICE_PORTS[service])
    assert [p["containerPort"] for p in container["ports"]] == [SERVICE_PORTS[service]]


@pytest.mark.parametrize("variant", ALL)
@pytest.mark.parametrize("service", SERVICE_PORTS)
def test_each_service_has_a_service_and_a_disruption_budget_selecting_its_pods(rendered, variant, service):
    pod_labels = one(rendered[variant], "Deployment", service)["spec"]["template"]["metadata"]["labels"]
    selector = one(rendered[variant], "Service", service)["spec"]["selector"]
    budget = one(rendered[variant], "PodDisruptionBudget", service)["spec"]
    assert selector.items() <= pod_labels.items()
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget.get("maxUnavailable") == 1


def test_pods_get_the_config_from_configmap_and_secret(rendered):
    for service in SERVICE_PORTS:
        container = one(rendered["base"], "Deployment", service)["spec"]["template"]["spec"]["containers"][0]
        sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert sources == {"replenish-env", "replenish-secrets"}
    env = one(rendered["base"], "ConfigMap", "replenish-env")["data"]
    assert env["REPLENISH_AUTO_MIGRATE"] == "false"
    assert env["REPLENISH_HOST"] == "0.0.0.0"
    assert set(one(rendered["base"], "Secret", "replenish-secrets")["stringData"]) == {
        "DATABASE_URL", "REPLENISH_ADMIN_TOKEN"}


@pytest.mark.parametrize("variant", ALL)
@pytest.mark.parametrize("service", ["ingest", "forecast"])
def test_ingest_and_forecast_autoscale_on_cpu_and_consumer_lag(rendered, variant, service):
    hpa = one(rendered[variant], "HorizontalPodAutoscaler", service)["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    by_type = {m["type"]: m for m in hpa["metrics"]}
    assert by_type["Resource"]["resource"]["name"] == "cpu"
    lag = by_type["External"]["external"]
    assert lag["metric"]["name"] == "replenish_consumer_lag"
    assert lag["metric"]["selector"]["matchLabels"] == {"service": service}


def test_only_ingest_and_forecast_autoscale(rendered):
    names = {d["spec"]["scaleTargetRef"]["name"] for d in find(rendered["prod"], "HorizontalPodAutoscaler")}
    assert names == {"ingest", "forecast"}


def selected_components(policy: dict) -> set[str]:
    """The Replenish services (and the console) a NetworkPolicy's podSelector picks."""
    selector = policy["spec"]["podSelector"]
    chosen = {*SERVICE_PORTS, "console"}
    if selector.get("matchLabels", {}).get("app.kubernetes.io/component"):
        chosen &= {selector["matchLabels"]["app.kubernetes.io/component"]}
    for expression in selector.get("matchExpressions", []):
        if expression["key"] == "app.kubernetes.io/component":
            chosen &= set(expression["values"])
    return chosen


def reachable_from(documents: list[dict], namespace_labels: dict) -> set[str]:
    """Services that some NetworkPolicy opens to pods of a namespace carrying these labels."""
    reachable: set[str] = set()
    for policy in find(documents, "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                wanted = peer.get("namespaceSelector", {}).get("matchLabels", {})
                if wanted.items() <= namespace_labels.items():
                    reachable |= selected_components(policy)
    return reachable


@pytest.mark.parametrize("variant", ALL)
def test_network_policies_deny_by_default_and_expose_only_public_and_ops_doors(rendered, variant):
    documents = rendered[variant]
    deny = one(documents, "NetworkPolicy", "replenish-default-deny-ingress")["spec"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "replenish"}}
    assert "ingress" not in deny and deny["policyTypes"] == ["Ingress"]
    public = {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert reachable_from(documents, public) == {"ingest", "orders"}
    ops = {"kubernetes.io/metadata.name": "ops-gateway", "replenish.io/ops-access": "true"}
    assert reachable_from(documents, ops) == {*SERVICE_PORTS, "console"}
    assert reachable_from(documents, {"kubernetes.io/metadata.name": "some-tenant"}) == set()


@pytest.mark.parametrize("variant", ALL)
def test_public_ingress_routes_only_to_ingest_and_the_supplier_api(rendered, variant):
    ingress = one(rendered[variant], "Ingress", "replenish-public")["spec"]
    routes = {(p["path"], p["backend"]["service"]["name"])
              for rule in ingress["rules"] for p in rule["http"]["paths"]}
    assert routes == {("/v1/events", "ingest"), ("/v1/events.csv", "ingest"), ("/v1/sources", "ingest"),
                      ("/v1/supplier", "orders")}


@pytest.mark.parametrize("variant", ALL)
def test_migration_job_runs_replenish_migrate_once_as_non_root(rendered, variant):
    job = one(rendered[variant], "Job", "replenish-migrate")["spec"]
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] in {"OnFailure", "Never"}
    assert pod["containers"][0]["args"] == ["migrate"]
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_overlays_pin_their_images(rendered):
    def images(variant):
        deployments = [one(rendered[variant], "Deployment", service) for service in SERVICE_PORTS]
        return {c["image"] for d in deployments for c in d["spec"]["template"]["spec"]["containers"]}
    assert images("dev") == {"replenish:dev"}
    assert images("prod") == {"ghcr.io/your-org/replenish:0.1.0"}


def test_prod_ships_no_placeholder_secret_and_dev_ships_dev_credentials(rendered):
    assert find(rendered["prod"], "Secret", "replenish-secrets") == []
    dev = one(rendered["dev"], "Secret", "replenish-secrets")["stringData"]
    assert "REPLACE_ME" not in dev["DATABASE_URL"] and "@postgres.replenish.svc:5432/" in dev["DATABASE_URL"]
    assert one(rendered["dev"], "StatefulSet", "postgres")


def test_dev_runs_one_replica_of_everything_and_prod_at_least_two(rendered):
    dev = {d["metadata"]["name"]: d["spec"]["replicas"] for d in find(rendered["dev"], "Deployment")}
    prod = {d["metadata"]["name"]: d["spec"]["replicas"] for d in find(rendered["prod"], "Deployment")}
    assert {dev[s] for s in SERVICE_PORTS} == {1}
    assert min(prod[s] for s in SERVICE_PORTS) >= 2
