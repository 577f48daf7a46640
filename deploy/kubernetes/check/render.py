#!/usr/bin/env python3
"""Renders deploy/kubernetes/kustomization.yaml as `kubectl kustomize` would, for the subset of
kustomize the folder uses (resources, namespace, images, labels, configMapGenerator literals,
secretGenerator files, generatorOptions, inline JSON 6902 patches). Anything else is refused with
one line, so the folder cannot grow a feature this renderer silently ignores.

    render.py DIR [--literal NAME=VALUE ...] > rendered.yaml
"""
import argparse
import base64
import copy
import os
import sys

import yaml

KNOWN = {"apiVersion", "kind", "namespace", "images", "configMapGenerator", "secretGenerator",
         "generatorOptions", "labels", "patches", "resources"}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass"}


def fail(message):
    print(f"render.py: {message}", file=sys.stderr)
    sys.exit(1)


def pointer_set(document, path, value, op):
    """Applies one JSON 6902 add or replace at a JSON pointer."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    node = document
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op == "add":
            node.insert(index, value)
        else:
            node[index] = value
    else:
        if op == "replace" and last not in node:
            fail(f"patch replaces {path}, which does not exist")
        node[last] = value


def render(folder, literals):
    with open(os.path.join(folder, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    unknown = set(k) - KNOWN
    if unknown:
        fail(f"kustomization.yaml uses {sorted(unknown)}, which this renderer does not implement")
    if not k.get("generatorOptions", {}).get("disableNameSuffixHash"):
        fail("generatorOptions.disableNameSuffixHash must be true (this renderer does not rewrite hashed names)")

    documents = []
    for resource in k.get("resources", []):
        with open(os.path.join(folder, resource)) as f:
            documents += [d for d in yaml.safe_load_all(f) if d]

    for generator in k.get("configMapGenerator", []):
        if set(generator) - {"name", "literals"}:
            fail(f"configMapGenerator {generator['name']}: only literals are implemented")
        data = dict(item.split("=", 1) for item in generator.get("literals", []))
        for name, value in literals.items():
            if name not in data:
                fail(f"--literal {name}: configMap {generator['name']} has no such literal")
            data[name] = value
        documents.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
    for generator in k.get("secretGenerator", []):
        if set(generator) - {"name", "files", "type"}:
            fail(f"secretGenerator {generator['name']}: only files are implemented")
        data = {}
        for path in generator["files"]:
            key, _, path = path.rpartition("=") if "=" in path else (os.path.basename(path), "", path)
            try:
                with open(os.path.join(folder, path), "rb") as f:
                    data[key] = base64.b64encode(f.read()).decode()
            except OSError as error:
                fail(f"secretGenerator {generator['name']}: {error.strerror}: {path} (run make-secret.sh first)")
        documents.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": generator["name"]},
                          "type": generator.get("type", "Opaque"), "data": data})

    for patch in k.get("patches", []):
        target = patch.get("target", {})
        if set(patch) - {"target", "patch"} or set(target) - {"group", "version", "kind", "name"}:
            fail("patches: only inline JSON 6902 patches with a target kind and name are implemented")
        matches = [d for d in documents if d["kind"] == target.get("kind") and d["metadata"]["name"] == target.get("name")]
        if len(matches) != 1:
            fail(f"patch target {target} matches {len(matches)} resources")
        for op in yaml.safe_load(patch["patch"]):
            if op["op"] not in ("add", "replace"):
                fail(f"patch op {op['op']} is not implemented")
            pointer_set(matches[0], op["path"], op["value"], op["op"])

    images = {i["name"]: i for i in k.get("images", [])}
    for document in documents:
        pod = document.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            image = images.get(container["image"])
            if image:
                name = image.get("newName", image["name"])
                container["image"] = name + ("@" + image["digest"] if "digest" in image else ":" + image.get("newTag", "latest"))
        metadata = document["metadata"]
        if "namespace" in k and document["kind"] not in CLUSTER_SCOPED:
            metadata["namespace"] = k["namespace"]
        for label in k.get("labels", []):
            if label.get("includeSelectors") or label.get("includeTemplates"):
                fail("labels: only includeSelectors: false without templates is implemented")
            metadata.setdefault("labels", {}).update(label["pairs"])
    return documents


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--literal", action="append", default=[], help="override a configMapGenerator literal")
    args = parser.parse_args()
    literals = dict(item.split("=", 1) for item in args.literal)
    yaml.safe_dump_all(render(args.folder, literals), sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
