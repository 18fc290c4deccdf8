"""Imports as real specs write them: names and file names that Kubernetes names cannot hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import fleet_yaml, validate_object, write_tree

from skipper_render import render
from skipper_render.errors import SkipperError

# As in the public corpus (nist-cybersecurity-framework-sandbox): a display name as import name.
NAME = "NIST CSF 2.0 — Sandbox API"
SPEC = f"""\
ikanos: "1.0.0-beta4"
info: {{display: NIST, description: NIST sandbox}}
capability:
  consumes:
    - import: {NAME}
      from: ./shared/{NAME}-consumes.yml
  exposes:
    - {{type: control, address: "0.0.0.0", port: 9090}}
"""
IMPORTED = f"""\
ikanos: "1.0.0-beta4"
consumes:
  - namespace: {NAME}
    type: http
    baseUri: https://mocks.example.com/nist
"""


def _fleet(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path,
        {
            "naftiko.fleet.yaml": fleet_yaml("nist: {spec: caps/nist.ikanos.yml}"),
            "caps/nist.ikanos.yml": SPEC,
            f"caps/shared/{NAME}-consumes.yml": IMPORTED,
        },
    )


def test_an_import_name_that_is_no_dns_label_names_its_configmap_by_a_slug(tmp_path: Path) -> None:
    result = render(_fleet(tmp_path), None)
    configmap = next(o for o in result.objects if o["kind"] == "ConfigMap" and "-import-" in o["metadata"]["name"])
    assert configmap["metadata"]["name"] == "nist-import-nist-csf-2-0-sandbox-api"
    (key,) = configmap["data"]
    assert re.fullmatch(r"[-._a-zA-Z0-9]+", key) and key == "NIST-CSF-2.0-Sandbox-API-consumes.yml"
    deployment = next(o for o in result.objects if o["kind"] == "Deployment")
    mounts = deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    # The engine still finds the file where the spec says it is.
    assert {
        "name": "import-0",
        "mountPath": f"/data/shared/{NAME}-consumes.yml",
        "subPath": key,
        "readOnly": True,
    } in mounts
    assert any("is not a DNS-1123 label" in d.message for d in result.warnings)
    for obj in result.objects:
        validate_object(obj)


def test_strict_refuses_it(tmp_path: Path) -> None:
    with pytest.raises(SkipperError, match=re.escape(f"import name '{NAME}' is not a DNS-1123 label")):
        render(_fleet(tmp_path), None, strict=True)
