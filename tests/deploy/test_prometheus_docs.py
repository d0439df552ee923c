"""docs/prometheus: the scrape config finds the pods the manifests annotate; alert rules use real metrics."""
from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.conftest import REPO, SERVICE_PORTS, one

PROMETHEUS = REPO / "docs" / "prometheus"
# The metrics the services export (issue 8); histograms add _bucket/_sum/_count series.
EXPORTED = {"replenish_consumer_lag", "replenish_event_latency_seconds", "replenish_events_total",
            "replenish_outbox_backlog", "replenish_purchase_orders", "replenish_alerts_total",
            "replenish_deliveries_total", "replenish_dlq_total", "replenish_policy_decided_keys_total"}


def load(name: str) -> dict:
    return yaml.safe_load((PROMETHEUS / name).read_text())


def rules() -> list[dict]:
    return [rule for group in load("alert-rules.yaml")["groups"] for rule in group["rules"]]


def test_every_alert_rule_has_a_severity_and_a_summary():
    assert len(rules()) >= 5
    for rule in rules():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["alert"].startswith("Replenish")


def test_alert_rules_reference_only_exported_metrics():
    referenced = {re.sub(r"_(bucket|sum|count)$", "", name) if name.startswith("replenish_event_latency") else name
                  for rule in rules() for name in re.findall(r"\breplenish_[a-z_]+", rule["expr"])}
    assert referenced <= EXPORTED
    assert {"replenish_consumer_lag", "replenish_outbox_backlog", "replenish_dlq_total"} <= referenced


def test_alert_rules_cover_lag_latency_rejections_outbox_and_deliveries():
    expressions = " ".join(rule["expr"] for rule in rules())
    for needle in ("replenish_consumer_lag", "replenish_event_latency_seconds_bucket", 'outcome="rejected"',
                   "replenish_outbox_backlog", 'replenish_deliveries_total{status="failed"}', "up{"):
        assert needle in expressions


def test_kubernetes_scrape_job_keeps_annotated_replenish_pods_and_labels_the_service(rendered):
    job = next(j for j in load("scrape-config.yaml")["scrape_configs"] if "kubernetes_sd_configs" in j)
    relabel = job["relabel_configs"]
    keeps = {tuple(r["source_labels"]): r["regex"] for r in relabel if r.get("action") == "keep"}
    assert keeps[("__meta_kubernetes_pod_label_app_kubernetes_io_name",)] == "replenish"
    assert keeps[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)] == "true"
    service = [r for r in relabel if r.get("target_label") == "service"]
    assert service[0]["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_component"]
    for name, port in SERVICE_PORTS.items():
        template = one(rendered["prod"], "Deployment", name)["spec"]["template"]["metadata"]
        assert template["labels"]["app.kubernetes.io/name"] == "replenish"
        assert template["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                                           "prometheus.io/path": "/metrics"}


@pytest.mark.parametrize("service", SERVICE_PORTS)
def test_compose_scrape_job_targets_each_service_port(service):
    job = next(j for j in load("scrape-config.yaml")["scrape_configs"] if j["job_name"] == "replenish-compose")
    targets = {t: c["labels"]["service"] for c in job["static_configs"] for t in c["targets"]}
    assert targets[f"{service}:{SERVICE_PORTS[service]}"] == service


def test_adapter_rule_serves_the_lag_metric_the_autoscalers_ask_for(rendered):
    rule = load("adapter-rules.yaml")["externalRules"][0]
    asked = {m["external"]["metric"]["name"] for name in ("ingest", "forecast")
             for m in one(rendered["base"], "HorizontalPodAutoscaler", name)["spec"]["metrics"]
             if m["type"] == "External"}
    assert asked == {rule["name"]["as"]}
    assert "replenish_consumer_lag" in rule["seriesQuery"] and "service" in rule["seriesQuery"]
