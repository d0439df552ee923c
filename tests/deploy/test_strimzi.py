"""Strimzi custom resources, checked structurally: Kafka in KRaft mode and one KafkaTopic per topic."""
from __future__ import annotations

import pytest

from tests.deploy.conftest import OVERLAYS, find, one

ALL = ("base", *OVERLAYS)
STRIMZI_API = "kafka.strimzi.io/v1beta2"
# docs/contract.md §7, written out by hand: the deploy must not drift from the contract.
CONTRACT_TOPICS = {
    "replenish.ingest.raw.v1", "replenish.ingest.sales.v1", "replenish.ingest.stock.v1",
    "replenish.ingest.master.v1", "replenish.ingest.promotions.v1", "replenish.ingest.alerts.v1",
    "replenish.policy.alerts.v1", "replenish.orders.alerts.v1", "replenish.forecast.demand.v1",
    "replenish.policy.reorder.v1", "replenish.orders.purchase-orders.v1", "replenish.notify.deliveries.v1",
}


def strimzi(documents: list[dict]) -> list[dict]:
    return [d for d in documents if d["apiVersion"].startswith("kafka.strimzi.io/")]


def brokers(documents: list[dict]) -> int:
    pools = [p["spec"] for p in find(documents, "KafkaNodePool")]
    return sum(pool["replicas"] for pool in pools if "broker" in pool["roles"])


def topics(documents: list[dict]) -> dict[str, dict]:
    return {t["spec"].get("topicName", t["metadata"]["name"]): t for t in find(documents, "KafkaTopic")}


@pytest.mark.parametrize("variant", ALL)
def test_every_strimzi_resource_uses_v1beta2_and_names_its_cluster(rendered, variant):
    resources = strimzi(rendered[variant])
    assert {r["kind"] for r in resources} == {"Kafka", "KafkaNodePool", "KafkaTopic"}
    assert {r["apiVersion"] for r in resources} == {STRIMZI_API}
    clusters = {k["metadata"]["name"] for k in find(resources, "Kafka")}
    unbound = [r["metadata"]["name"] for r in resources if r["kind"] != "Kafka"
               and r["metadata"].get("labels", {}).get("strimzi.io/cluster") not in clusters]
    assert unbound == []


@pytest.mark.parametrize("variant", ALL)
def test_kafka_runs_in_kraft_mode_with_node_pools_and_a_topic_operator(rendered, variant):
    kafka = one(rendered[variant], "Kafka", "replenish")
    annotations = kafka["metadata"]["annotations"]
    assert annotations == {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    spec = kafka["spec"]
    assert "zookeeper" not in spec
    assert "topicOperator" in spec["entityOperator"]
    for listener in spec["kafka"]["listeners"]:
        assert {"name", "port", "type", "tls"} <= set(listener)
    assert {r for p in find(rendered[variant], "KafkaNodePool") for r in p["spec"]["roles"]} == {
        "controller", "broker"}
    for pool in find(rendered[variant], "KafkaNodePool"):
        assert pool["spec"]["replicas"] > 0 and pool["spec"]["storage"]["type"] in {"jbod", "ephemeral",
                                                                                    "persistent-claim"}


@pytest.mark.parametrize("variant", ALL)
def test_replication_settings_fit_the_number_of_brokers(rendered, variant):
    count = brokers(rendered[variant])
    config = one(rendered[variant], "Kafka", "replenish")["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] <= count
    assert config["offsets.topic.replication.factor"] <= count
    assert config["min.insync.replicas"] <= config["default.replication.factor"]
    for name, topic in topics(rendered[variant]).items():
        replicas = topic["spec"]["replicas"]
        assert 0 < replicas <= count, name
        assert topic["spec"]["config"]["min.insync.replicas"] <= replicas, name


@pytest.mark.parametrize("variant", ALL)
def test_one_kafka_topic_per_contract_topic_and_its_dead_letter_queue(rendered, variant):
    expected = CONTRACT_TOPICS | {f"{name}.dlq" for name in CONTRACT_TOPICS}
    assert len(expected) == 24
    assert set(topics(rendered[variant])) == expected
    assert len(find(rendered[variant], "KafkaTopic")) == 24


def test_contract_topics_agree_with_the_shared_topic_constants():
    names = pytest.importorskip("shared.events.topics", reason="shared.events.topics not importable")
    assert set(names.ALL_TOPICS) == CONTRACT_TOPICS


@pytest.mark.parametrize("variant", ALL)
def test_every_topic_has_positive_partitions_at_least_what_the_services_assume(rendered, variant):
    assumed = int(one(rendered[variant], "ConfigMap", "replenish-env")["data"]["REPLENISH_PARTITIONS"])
    partitions = {name: t["spec"]["partitions"] for name, t in topics(rendered[variant]).items()}
    assert all(isinstance(count, int) and count > 0 for count in partitions.values())
    # Strimzi can only add partitions: a topic a service created first with more would never reconcile.
    assert min(partitions.values()) >= assumed


@pytest.mark.parametrize("variant", ALL)
def test_forecast_never_scales_past_the_partitions_it_consumes(rendered, variant):
    hpa = one(rendered[variant], "HorizontalPodAutoscaler", "forecast")["spec"]
    sales = topics(rendered[variant])["replenish.ingest.sales.v1"]["spec"]["partitions"]
    assert hpa["maxReplicas"] <= sales


def test_prod_gives_the_per_sku_streams_more_partitions(rendered):
    partitions = {name: t["spec"]["partitions"] for name, t in topics(rendered["prod"]).items()}
    assert partitions["replenish.ingest.sales.v1"] == 24
    assert partitions["replenish.forecast.demand.v1"] == 24
    assert partitions["replenish.ingest.master.v1"] == 12
    assert partitions["replenish.ingest.sales.v1.dlq"] == 12
    assert brokers(rendered["prod"]) == 3 and brokers(rendered["dev"]) == 1
