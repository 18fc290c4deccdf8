"""Routing: the agentgateway MCP gateway, the REST gateway, and the Istio / Linkerd / Consul meshes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from helpers import FIXTURES, SCHEMAS, validate_object

from skipper_plugin.cli import main
from skipper_render import render
from skipper_render.errors import ValidationError

ISTIO = FIXTURES / "valid" / "routing-istio"


def _objects(fleet: Path, env: str) -> list[dict[str, Any]]:
    return list(render(fleet, env).objects)


def _get(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _gateway_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(_get(objects, "ConfigMap", "harbor-mcp-gateway")["data"]["config.yaml"])
    return config


@pytest.mark.parametrize("mesh", ["istio", "linkerd", "consul"])
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_agentgateway_config_validates_against_its_schema(mesh: str, env: str) -> None:
    schema = json.loads((SCHEMAS / "agentgateway" / "config_v1.4.1.json").read_text())
    config = _gateway_config(_objects(FIXTURES / "valid" / f"routing-{mesh}", env))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(config))
    assert errors == []


def test_gateway_targets_allow_list_and_failure_isolation() -> None:
    objects = _objects(ISTIO, "prod")
    backend = _gateway_config(objects)["binds"][0]["listeners"][0]["routes"][0]["backends"][0]["mcp"]
    assert (backend["prefixMode"], backend["failureMode"]) == ("always", "failOpen")
    hosts = {t["name"]: t["mcp"]["host"] for t in backend["targets"]}
    assert hosts["shipyard-tools"] == "http://shipyard.harbor-prod.svc.cluster.local:3001/mcp"
    rules = _gateway_config(objects)["binds"][0]["listeners"][0]["routes"][0]["policies"]["mcpAuthorization"]["rules"]
    spec = yaml.safe_load((ISTIO / "capabilities" / "shipyard" / "shipyard.ikanos.yml").read_text())
    declared = next(e for e in spec["capability"]["exposes"] if e["type"] == "mcp")["tools"]
    shipyard_rules = [r for r in rules if '"shipyard-tools"' in r]
    assert shipyard_rules == [
        f'mcp.tool.target == "shipyard-tools" && mcp.tool.name == "{t}"' for t in sorted(declared)
    ]
    deployment = _get(objects, "Deployment", "harbor-mcp-gateway")
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"]["naftiko.io/startup-digest"]  # of the `config:` section only
    container = pod["spec"]["containers"][0]
    assert container["image"] == "cr.agentgateway.dev/agentgateway:v1.4.1"
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz/ready", "port": "readiness"}
    assert {p["containerPort"] for p in container["ports"]} == {3000, 9902, 9903}  # off every sidecar's ports
    config = _gateway_config(objects)["config"]
    assert (config["adminAddr"], config["statsAddr"], config["readinessAddr"]) == (
        "127.0.0.1:9901",
        "0.0.0.0:9902",
        "0.0.0.0:9903",
    )
    assert {"name": "config", "mountPath": "/config", "readOnly": True} in container["volumeMounts"]  # no subPath
    route = _get(objects, "HTTPRoute", "harbor-mcp-gateway")
    assert route["spec"]["hostnames"] == ["mcp.harbor.example.com"]
    policies = _gateway_config(objects)["binds"][0]["listeners"][0]["routes"][0]["policies"]
    assert policies["mcpAuthentication"] == {
        "issuer": "https://login.harbor.example.com",
        "audiences": ["mcp.harbor.example.com"],
        "jwks": {"url": "https://login.harbor.example.com/jwks.json"},
        "mode": "strict",
        "resourceMetadata": {"resource": "https://mcp.harbor.example.com/mcp"},
    }


def test_gateway_tools_prints_the_routing_table() -> None:
    result = CliRunner().invoke(main, ["gateway", "tools", str(ISTIO), "--env", "dev", "-o", "json"])
    rows = json.loads(result.stdout)
    assert {
        "tool": "shipyard-tools_get-ship",
        "capability": "shipyard",
        "namespace": "shipyard-tools",
        "port": 3001,
    } in rows
    assert len({r["tool"] for r in rows}) == len(rows)


def _copy(tmp_path: Path) -> Path:
    return shutil.copytree(ISTIO, tmp_path / "fleet")


def test_mcp_namespace_used_twice_names_both(tmp_path: Path) -> None:
    fleet = _copy(tmp_path)
    shutil.copy(FIXTURES / "valid" / "demo" / "capabilities" / "oauth-tools" / "capability.yml", fleet / "oauth.yml")
    manifest = fleet / "naftiko.fleet.yaml"
    manifest.write_text(
        manifest.read_text().replace("  environments:", "    oauth: {spec: oauth.yml}\n  environments:")
    )
    with pytest.raises(ValidationError) as err:
        render(fleet, "prod")
    messages = [d.message for d in err.value.diagnostics]
    assert any("MCP namespace 'shipyard-tools' of 'shipyard' is also used by 'oauth'" in m for m in messages), messages


def test_mcp_expose_on_localhost_is_an_error_and_stdio_is_skipped(tmp_path: Path) -> None:
    fleet = _copy(tmp_path)
    spec = fleet / "capabilities" / "ping" / "ping.ikanos.yml"
    text = spec.read_text().replace(
        "capability:\n  exposes:\n",
        "capability:\n  exposes:\n  - {type: mcp, port: 3009, namespace: ping-tools, tools: {ping: {description: p}}}\n"
        "  - {type: mcp, transport: stdio, namespace: ping-stdio, tools: {pong: {description: p}}}\n",
    )
    spec.write_text(text)
    with pytest.raises(ValidationError) as err:
        render(fleet, "prod")
    assert any("cannot reach an expose bound to localhost" in d.message for d in err.value.diagnostics)
    spec.write_text(text.replace("{type: mcp, port: 3009,", '{type: mcp, address: "0.0.0.0", port: 3009,'))
    result = render(fleet, "prod")
    assert any("stdio MCP expose cannot be routed" in w.message for w in result.warnings)
    assert (
        "ping-stdio"
        not in _gateway_config(list(result.objects))["binds"][0]["listeners"][0]["routes"][0]["policies"][
            "mcpAuthorization"
        ]["rules"][0]
    )


def test_rest_gateway_rewrites_each_prefix_to_the_expose() -> None:
    route = _get(_objects(ISTIO, "prod"), "HTTPRoute", "harbor-rest-gateway")
    rules = {r["matches"][0]["path"]["value"]: r for r in route["spec"]["rules"]}
    assert set(rules) == {"/ping", "/shipyard", "/teams"}
    assert rules["/ping"]["backendRefs"] == [{"name": "ping", "port": 9610}]
    assert rules["/ping"]["filters"] == [
        {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
    ]
    ingress = _get(_objects(ISTIO, "dev"), "Ingress", "harbor-rest-gateway")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"] == "/$2"
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/ping(/|$)(.*)"


def test_conflicting_rest_prefixes_are_errors(tmp_path: Path) -> None:
    fleet = _copy(tmp_path)
    manifest = fleet / "naftiko.fleet.yaml"
    manifest.write_text(manifest.read_text().replace('pathPrefix: "/{capability}"', 'pathPrefix: "/api"'))
    with pytest.raises(ValidationError) as err:
        render(fleet, "prod")
    assert any(
        "REST gateway prefix /api of 'shipyard' is also claimed by 'ping'" in d.message for d in err.value.diagnostics
    )


def test_istio_policies() -> None:
    objects = _objects(ISTIO, "prod")
    policy = _get(objects, "AuthorizationPolicy", "teams")["spec"]
    callers, gateway = policy["rules"][0], policy["rules"][1]
    assert callers["from"][0]["source"]["principals"] == ["cluster.local/ns/harbor-prod/sa/shipyard"]
    assert callers["to"][0]["operation"]["ports"] == ["3001", "3002", "3003"]
    assert gateway["from"][0]["source"]["principals"] == ["cluster.local/ns/harbor-prod/sa/harbor-mcp-gateway"]
    assert gateway["to"][0]["operation"]["ports"] == ["3001"]  # the MCP gateway reaches MCP ports only
    assert len(policy["rules"]) == 3  # and the ingress to the REST gateway's rest expose; nobody else
    assert _get(objects, "PeerAuthentication", "teams")["spec"]["mtls"] == {"mode": "STRICT"}
    shipyard = _get(objects, "AuthorizationPolicy", "shipyard")["spec"]["rules"]
    assert {  # the public MCP expose, and the rest expose the REST gateway routes through the ingress
        "from": [{"source": {"namespaces": ["gateway-system"]}}],
        "to": [{"operation": {"ports": ["3001", "3002"]}}],
    } in shipyard
    routes = {r["name"]: r for r in _get(objects, "VirtualService", "shipyard")["spec"]["http"]}
    assert routes["rest"]["retries"]["attempts"] == 4  # premium: maxAttempts 5 = 1 call + 4 retries
    assert routes["rest"]["timeout"] == "30s"  # the request bound every mesh gets
    assert routes["mcp"]["retries"] == {"attempts": 0} and "timeout" not in routes["mcp"]  # tool calls
    rule = _get(objects, "DestinationRule", "shipyard")["spec"]["trafficPolicy"]
    assert rule["connectionPool"]["http"]["http2MaxRequests"] == 100
    assert rule["loadBalancer"]["localityLbSetting"]["failover"] == [{"from": "eu-west-1", "to": "us-east-1"}]
    deployment = _get(objects, "Deployment", "ping")
    assert deployment["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "ping"


def test_linkerd_policies() -> None:
    objects = _objects(FIXTURES / "valid" / "routing-linkerd", "prod")
    deployment = _get(objects, "Deployment", "teams")
    assert deployment["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
    servers = {o["metadata"]["name"] for o in objects if o["kind"] == "Server"}
    assert {"ping-control", "ping-rest", "ping-skill"} <= servers
    route = _get(objects, "HTTPRoute", "shipyard-mcp-mesh")
    assert route["apiVersion"] == "policy.linkerd.io/v1beta3"
    assert "annotations" not in route["metadata"]  # MCP: no retry, no timeout
    assert route["spec"]["parentRefs"] == [{"group": "core", "kind": "Service", "name": "shipyard", "port": 3001}]
    assert route["spec"]["rules"] == [{"backendRefs": [{"name": "shipyard", "port": 3001}]}]
    rest = _get(objects, "HTTPRoute", "shipyard-rest-mesh")["metadata"]["annotations"]
    assert (rest["retry.linkerd.io/limit"], rest["timeout.linkerd.io/request"]) == ("4", "30s")


def test_linkerd_breaks_circuits_from_the_class() -> None:
    objects = _objects(FIXTURES / "valid" / "routing-linkerd", "prod")
    accrual = "balancer.linkerd.io/failure-accrual"
    shipyard = _get(objects, "Service", "shipyard")["metadata"]["annotations"]  # premium: 12 x 50 %, 15s open
    assert shipyard == {
        accrual: "consecutive",
        f"{accrual}-consecutive-max-failures": "6",
        f"{accrual}-consecutive-min-penalty": "15s",
        f"{accrual}-consecutive-max-penalty": "60s",
    }
    ping = _get(objects, "Service", "ping")["metadata"]["annotations"]  # dev: open 60s, still <= the max
    assert (ping[f"{accrual}-consecutive-min-penalty"], ping[f"{accrual}-consecutive-max-penalty"]) == ("60s", "60s")


def test_consul_breaks_circuits_where_the_caller_is() -> None:
    """Consul ejects endpoints client-side: a caller's ServiceDefaults carry its callees' breakers."""
    objects = _objects(FIXTURES / "valid" / "routing-consul", "prod")
    shipyard = _get(objects, "ServiceDefaults", "shipyard")["spec"]  # calls registry (standard class)
    assert shipyard["upstreamConfig"] == {
        "overrides": [
            {"name": "registry", "passiveHealthCheck": {"interval": "10s", "maxFailures": 5, "baseEjectionTime": "30s"}}
        ]
    }
    assert shipyard["maxInboundConnections"] == 100  # premium bulkhead
    mcp = _get(objects, "ServiceRouter", "shipyard")["spec"]["routes"][0]["destination"]
    assert mcp == {"service": "shipyard"}  # an MCP port: no retries, no request timeout
    rest = _get(objects, "ServiceRouter", "registry")["spec"]["routes"][0]["destination"]
    assert (rest["requestTimeout"], rest["numRetries"]) == ("30s", 2)
    assert "upstreamConfig" not in _get(objects, "ServiceDefaults", "registry")["spec"]  # registry calls nobody
    for obj in objects:
        validate_object(obj)


def test_linkerd_servers_admit_only_declared_clients() -> None:
    """A Linkerd Server denies what no AuthorizationPolicy admits: every reachable port needs one."""
    objects = _objects(FIXTURES / "valid" / "routing-linkerd", "prod")
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "AuthorizationPolicy"}
    for name, spec in policies.items():
        assert spec["targetRef"] == {"group": "policy.linkerd.io", "kind": "Server", "name": name}
        assert _get(objects, "Server", name)
    refs = {o["metadata"]["name"]: o["spec"]["identityRefs"] for o in objects if o["kind"] == "MeshTLSAuthentication"}
    gateway, shipyard = (
        {"kind": "ServiceAccount", "name": "harbor-mcp-gateway", "namespace": "harbor-prod"},
        {"kind": "ServiceAccount", "name": "shipyard", "namespace": "harbor-prod"},
    )
    assert refs["teams-mcp"] == [gateway, shipyard]  # the MCP gateway and the declared caller
    assert refs["teams-skill"] == [shipyard]  # the gateway reaches MCP ports only
    ingress = {"kind": "Namespace", "name": "gateway-system"}
    assert ingress in refs["shipyard-mcp"]  # public
    assert ingress in refs["teams-rest"]  # routed by the REST gateway
    assert ingress not in refs["teams-mcp"]
    # The control port: probes and Prometheus have no mesh identity.
    control = policies["ping-control"]["requiredAuthenticationRefs"]
    assert control == [{"group": "policy.linkerd.io", "kind": "NetworkAuthentication", "name": "ping-any-network"}]
    networks = _get(objects, "NetworkAuthentication", "ping-any-network")["spec"]["networks"]
    assert networks == [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]
    # Nobody calls ping's skill port: its Server stays without a policy, so Linkerd denies it.
    assert "ping-skill" not in policies
    assert _get(objects, "Server", "ping-skill")
    for obj in objects:
        validate_object(obj)


def test_consul_policies() -> None:
    objects = _objects(FIXTURES / "valid" / "routing-consul", "prod")
    intentions = _get(objects, "ServiceIntentions", "shipyard")["spec"]["sources"]
    assert intentions == [  # the gateway, the declared caller and the public route's Gateway; nobody else
        {"name": "harbor-mcp-gateway", "action": "allow"},
        {"name": "prompts", "action": "allow"},
        {"name": "public", "action": "allow"},
        {"name": "*", "action": "deny"},
    ]
    assert _get(objects, "ServiceDefaults", "prompts")["spec"]["protocol"] == "http"
    assert _get(objects, "ServiceResolver", "prompts")["spec"]["failover"] == {"*": {"datacenters": ["us-east-1"]}}
    pod = _get(objects, "Deployment", "registry")["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["consul.hashicorp.com/connect-inject"] == "true"
    assert annotations["consul.hashicorp.com/connect-service"] == "registry"
    assert annotations["consul.hashicorp.com/connect-service-port"] == "rest"
    assert pod["spec"]["automountServiceAccountToken"] is True  # connect-inject logs in with it (ACLs)


def test_long_fleet_names_still_give_valid_gateway_objects(tmp_path: Path) -> None:
    fleet = _copy(tmp_path)
    manifest = fleet / "naftiko.fleet.yaml"
    long_name = "a" * 60 + "-xy"
    manifest.write_text(manifest.read_text().replace("metadata:\n  name: harbor", f"metadata:\n  name: {long_name}"))
    objects = _objects(fleet, "prod")
    gateway = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"].startswith("a" * 50))
    assert len(gateway["metadata"]["name"]) <= 63
    for obj in objects:
        validate_object(obj)
        for value in obj["metadata"].get("labels", {}).values():
            assert len(value) <= 63
