"""Multi-region (SPEC 2.7): one render per cluster; standbys run warm; failover through the mesh."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import FIXTURES

from skipper_render import render
from skipper_render.errors import ValidationError

DEMO = FIXTURES / "valid" / "demo"


def _hpas(cluster: str) -> dict[str, dict[str, Any]]:
    objects = render(DEMO, "prod", cluster=cluster).objects
    for obj in objects:  # capability and fleet-level objects alike say which cluster they were rendered for
        assert obj["metadata"]["labels"]["naftiko.io/cluster"] == cluster, (obj["kind"], obj["metadata"]["name"])
    return {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}


def test_standby_clusters_run_a_warm_standby() -> None:
    primary, standby = _hpas("prod-eu"), _hpas("prod-us")
    assert set(primary) == set(standby)
    for name, spec in primary.items():
        assert standby[name]["minReplicas"] == 1
        assert standby[name]["maxReplicas"] == spec["maxReplicas"]  # free to take over on failover
    assert any(spec["minReplicas"] > 1 for spec in primary.values())


def test_unknown_cluster_is_an_error() -> None:
    with pytest.raises(
        ValidationError, match=r"unknown cluster 'prod-ap' given by --cluster \(known: prod-eu, prod-us\)"
    ):
        render(DEMO, "prod", cluster="prod-ap")


def test_without_cluster_no_cluster_label() -> None:
    objects = render(DEMO, "prod").objects
    assert all("naftiko.io/cluster" not in o["metadata"].get("labels", {}) for o in objects)
