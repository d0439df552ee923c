"""The fallback renderer agrees with real kustomize where one is installed, and implements what overlays use."""
from __future__ import annotations

import pytest

from tests.deploy.conftest import K8S, OVERLAYS, one
from tests.deploy.kustomize_lite import build, merge, real_kustomize, render, split_image


def identity(document: dict) -> tuple[str, str, str]:
    return document["kind"], document["metadata"].get("namespace", ""), document["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_renderer_matches_real_kustomize(overlay):
    if real_kustomize() is None:
        pytest.skip("neither kustomize nor kubectl installed: overlays rendered by kustomize_lite only")
    theirs = {identity(d): d for d in render(K8S / "overlays" / overlay)}
    ours = {identity(d): d for d in build(K8S / "overlays" / overlay)}
    assert sorted(ours) == sorted(theirs)
    differing = [key for key in ours if ours[key] != theirs[key]]
    assert differing == []


def test_without_kustomize_on_path_the_fallback_renders(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: neither kustomize nor kubectl
    assert real_kustomize() is None
    assert render(K8S / "overlays" / "dev") == build(K8S / "overlays" / "dev")


def test_merge_combines_maps_and_named_lists_in_builtin_kinds():
    base = {"spec": {"replicas": 2, "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}
    patch = {"spec": {"containers": [{"name": "b", "image": "z"}]}}
    assert merge(base, patch, builtin=True) == {
        "spec": {"replicas": 2, "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "z"}]}}


def test_merge_replaces_lists_of_custom_resources():
    base = {"listeners": [{"name": "plain", "port": 9092}, {"name": "tls", "port": 9093}]}
    patch = {"listeners": [{"name": "plain", "port": 9094}]}
    assert merge(base, patch, builtin=False) == {"listeners": [{"name": "plain", "port": 9094}]}


def test_merge_null_deletes_and_replace_directive_replaces():
    base = {"a": 1, "b": {"c": 2, "d": 3}}
    assert merge(base, {"a": None, "b": {"$patch": "replace", "e": 4}}, builtin=True) == {"b": {"e": 4}}


def test_split_image_keeps_registry_port_out_of_the_tag():
    assert split_image("registry:5000/replenish") == ("registry:5000/replenish", None)
    assert split_image("ghcr.io/org/replenish:0.1.0") == ("ghcr.io/org/replenish", "0.1.0")


def test_unsupported_kustomization_field_fails_loudly(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("namePrefix: x-\nresources: []\n")
    with pytest.raises(ValueError, match="namePrefix"):
        build(tmp_path)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_forecast_pool_matches_its_cpu_limit(overlay):
    docs = render(K8S / "overlays" / overlay)
    env = one(docs, "ConfigMap", "replenish-env")["data"]
    limit = one(docs, "Deployment", "forecast")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert int(env["REPLENISH_FORECAST_WORKERS"]) == int(limit["cpu"])
