"""Rendering deploy/k8s: the real kustomize where one is installed, else a tiny renderer for the subset the
overlays use (resources, images and strategic-merge patches).

`render` is what the deploy tests use: `kustomize build` or `kubectl kustomize` when either is on PATH, and
`build` below only as the fallback on machines without them. `test_renderer.py` checks the fallback against
the real one wherever both exist. Anything outside the subset fails loudly instead of rendering something else.
"""
from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "images", "patches"}


def load_documents(path: Path) -> list[dict]:
    """Every non-empty YAML document of a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def real_kustomize() -> list[str] | None:
    """The command line of an installed kustomize (standalone first, then kubectl's), or None."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render(directory: Path) -> list[dict]:
    """The manifests a kustomization directory renders to, by the real kustomize when there is one."""
    command = real_kustomize()
    if command is None:
        return build(directory)
    result = subprocess.run([*command, str(directory)], capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} {directory} failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def build(directory: Path) -> list[dict]:
    """The manifests a kustomization directory renders to."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED_FIELDS
    if unsupported:
        raise ValueError(f"{directory}: kustomization fields outside the subset: {sorted(unsupported)}")
    documents: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        documents += build(path) if path.is_dir() else load_documents(path)
    for patch in kustomization.get("patches", []):
        for patch_doc in load_documents(directory / patch["path"]):
            documents = apply_patch(documents, patch_doc, patch.get("target"))
    for image in kustomization.get("images", []):
        for document in documents:
            set_image(document, image)
    return documents


def is_builtin(document: dict) -> bool:
    """Built-in kinds have list merge keys; custom resources (Strimzi's) have none: their lists replace."""
    api_version = document.get("apiVersion", "")
    group = api_version.split("/")[0] if "/" in api_version else ""
    return "." not in group or group.endswith(".k8s.io")


def apply_patch(documents: list[dict], patch: dict, target: dict | None) -> list[dict]:
    matches = [doc for doc in documents if targeted(doc, patch, target)]
    if not matches:
        raise ValueError(f"patch {patch['kind']}/{patch['metadata']['name']} matches no resource")
    result = []
    for document in documents:
        if not any(document is match for match in matches):
            result.append(document)
        elif patch.get("$patch") != "delete":
            body = copy.deepcopy(patch)
            if target is not None:
                # A targeted patch keeps each target's identity, whatever name the patch file carries.
                body["metadata"] = {**body.get("metadata", {}), "name": document["metadata"]["name"]}
                body["metadata"].pop("namespace", None)
            result.append(merge(document, body, is_builtin(document)))
    return result


def targeted(document: dict, patch: dict, target: dict | None) -> bool:
    if target is None:
        wanted, found = patch["metadata"], document["metadata"]
        same_namespace = wanted.get("namespace") in (None, found.get("namespace"))
        return document["kind"] == patch["kind"] and found["name"] == wanted["name"] and same_namespace
    if "kind" in target and document["kind"] != target["kind"]:
        return False
    if "name" in target and document["metadata"]["name"] != target["name"]:
        return False
    labels = document["metadata"].get("labels", {})
    for requirement in filter(None, target.get("labelSelector", "").split(",")):
        key, value = requirement.split("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def merge(base: Any, patch: Any, builtin: bool) -> Any:
    """Strategic merge: maps merge key by key, null deletes, `$patch: replace` replaces a map wholesale;
    in built-in kinds lists of named items (containers, env, volumes) merge by name, other lists replace."""
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace" or not isinstance(base, dict):
            return {key: value for key, value in patch.items() if key != "$patch"}
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key != "$patch":
                merged[key] = merge(base[key], value, builtin) if key in base else value
        return merged
    if builtin and named_list(base) and named_list(patch):
        merged_items = list(base)
        for item in patch:
            index = next((i for i, old in enumerate(merged_items) if old["name"] == item["name"]), None)
            if index is None:
                merged_items.append(item)
            else:
                merged_items[index] = merge(merged_items[index], item, builtin)
        return merged_items
    return patch


def named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(i, dict) and "name" in i for i in value)


def set_image(node: Any, image: dict) -> None:
    """Rewrite `image:` of every container and initContainer whose image name is image["name"]."""
    if isinstance(node, list):
        for item in node:
            set_image(item, image)
        return
    if not isinstance(node, dict):
        return
    for key in ("containers", "initContainers"):
        for container in node.get(key, []) or []:
            name, tag = split_image(container.get("image", ""))
            if name == image["name"]:
                new_name = image.get("newName", name)
                new_tag = image.get("newTag", tag)
                container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name
    for value in node.values():
        set_image(value, image)


def split_image(reference: str) -> tuple[str, str | None]:
    """("registry/name", "tag") of an image reference; the tag is None when absent."""
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:
        return reference, None
    return name, tag
