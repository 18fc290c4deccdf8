"""Properties over generated fleets: whatever the combination of mesh, gateways, policies, rollouts,
states, providers and call graph, a fleet that renders is wired (the check inside render passed and
has nothing to say) and its per-capability slices add up to the whole render.

Specs come from the fixtures (real corpus files); the fleet around them is generated.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from helpers import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skipper_render import SkipperError, render

SPECS = {
    "ping": FIXTURES / "valid" / "demo" / "capabilities" / "ping" / "ping.ikanos.yml",
    "telemetry": FIXTURES / "valid" / "demo" / "capabilities" / "telemetry" / "telemetry.ikanos.yml",
    "registry": FIXTURES / "valid" / "routing-consul" / "capabilities" / "registry" / "registry.ikanos.yml",
    "prompts": FIXTURES / "valid" / "routing-consul" / "capabilities" / "prompts" / "prompts.ikanos.yml",
    "hello": FIXTURES / "valid" / "minimal" / "hello.ikanos.yml",
}
PROPERTY = settings(
    max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(sorted(SPECS)), min_size=1, max_size=4, unique=True))
    mesh = draw(st.sampled_from(["none", "istio", "linkerd", "consul"]))
    api = draw(st.sampled_from(["gateway", "ingress", None]))
    routing: dict[str, Any] = {"mesh": mesh}
    if api == "gateway":
        routing["ingress"] = {
            "api": "gateway",
            "gateway": {"name": "public", "namespace": "gw", "sectionName": "https"},
            "host": "{capability}.example.com",
        }
    elif api == "ingress":
        routing["ingress"] = {
            "api": "ingress",
            "className": "nginx",
            "host": "{capability}.example.com",
            "controllerNamespace": "ingress-nginx",
            "tls": {"secretName": "tls"},
        }
    if draw(st.booleans()):
        gateway: dict[str, Any] = {"enabled": True}
        if api and draw(st.booleans()):
            gateway |= {"host": "mcp.example.com", "auth": {"issuer": "https://id.example.com", "audiences": ["mcp"]}}
        routing["mcpGateway"] = gateway
    if api and draw(st.booleans()):
        routing["restGateway"] = {"enabled": True, "pathPrefix": "/{capability}/{namespace}"}
    capabilities: dict[str, Any] = {}
    for name in names:
        entry: dict[str, Any] = {
            "spec": f"caps/{name}.yml",
            "state": draw(st.sampled_from(["running", "running", "suspended"])),
        }
        callees = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
        if [c for c in callees if c != name]:
            entry["calls"] = [c for c in callees if c != name]
        strategy = draw(st.sampled_from(["rolling", "canary", "blueGreen"]))
        if strategy != "rolling":
            entry["rollout"] = {"strategy": strategy, "analysis": {"successRate": 0.99}}
        if draw(st.booleans()):
            entry["class"] = draw(st.sampled_from(["dev", "standard", "premium"]))
        capabilities[name] = entry
    security: dict[str, Any] = {"networkPolicy": draw(st.booleans())}
    provider = draw(st.sampled_from(["kubernetes", "vault", "aws-secrets-manager", "azure-key-vault", "doppler"]))
    if provider != "kubernetes":
        security["secrets"] = {"provider": provider, "store": {"kind": "ClusterSecretStore", "name": "s"}}
    observability: dict[str, Any] = {
        "alerts": {"availability": 99.9},
        "prometheus": {"scrapeConfig": draw(st.booleans())},
    }
    return {
        "apiVersion": "fleet.naftiko.io/v1alpha1",
        "kind": "Fleet",
        "metadata": {"name": "gen"},
        "spec": {
            "namespace": "gen",
            "routing": routing,
            "security": security,
            "observability": observability,
            "capabilities": capabilities,
        },
    }


@PROPERTY
@given(manifest=fleets())
def test_generated_fleets_render_wired_and_split_exactly(manifest: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "caps").mkdir()
        for name in manifest["spec"]["capabilities"]:
            shutil.copy(SPECS[name], root / "caps" / f"{name}.yml")
        (root / "naftiko.fleet.yaml").write_text(yaml.safe_dump(manifest))
        try:
            whole = render(root)
        except SkipperError as exc:
            wiring = [str(d) for d in exc.diagnostics if "wiring:" in d.message]
            assert not wiring, wiring  # what renders must be wired; refusing is for the user's mistakes
            assert all(d.location.file for d in exc.diagnostics)
            return
        parts = {d.key: d.text for d in render(root, part="fleet").documents}
        for cap in whole.fleet.capabilities:
            parts |= {d.key: d.text for d in render(root, capability=cap.name, part="capabilities").documents}
        assert parts == {d.key: d.text for d in whole.documents}
