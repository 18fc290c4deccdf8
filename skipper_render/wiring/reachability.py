"""Every declared path reaches the capability through every layer that can deny it; nothing else does.

The declared paths are `generators.access.grants` (callers, the MCP gateway, the ingress, and
anyone on `control`). Each rendered layer is evaluated as its controller evaluates it, for a set of
would-be clients: every capability of the fleet, the MCP gateway, the ingress controller, a
stranger pod in the namespace, a stranger in another namespace, and Prometheus (no mesh identity).
- NetworkPolicy (Kubernetes): a pod selected by any policy admits only what a rule of one admits
  (peers by pod labels in the policy's namespace, or by namespace labels; ports by number or name).
- Istio (istio/istio `pilot/pkg/security/authz`): with an ALLOW policy on the workload, a request
  passes only a matching rule (`principals` are `cluster.local/ns/<ns>/sa/<sa>`, `namespaces` match
  the peer's namespace, both need mTLS); under PeerAuthentication STRICT a client without mesh
  identity fails the handshake unless the port is PERMISSIVE.
- Linkerd (linkerd2 policy-controller): a port without a Server falls to the cluster's default
  policy (all-unauthenticated: anyone); with one, a client passes only an AuthorizationPolicy of that
  Server whose authentications all match (MeshTLSAuthentication identities; NetworkAuthentication
  any network).
- Consul (consul-k8s transparent proxy): the one mesh port admits a client whose service name an
  intention allows (exact names before `*`); excluded ports bypass the proxy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from skipper_render import names
from skipper_render.generators import access
from skipper_render.generators.base import Context
from skipper_render.resolve import ResolvedCapability
from skipper_render.wiring.index import Obj, Pod, of_kind, selects

Report = Callable[[str], None]


class Client(NamedTuple):
    label: str  # how messages name it
    namespace: str
    labels: Mapping[str, str]
    account: str | None  # ServiceAccount (mesh identity); None: no mesh identity (Prometheus, kubelet)
    service: str  # Consul service name


def clients(cap: ResolvedCapability, ctx: Context) -> list[Client]:
    """Its declared callers and one capability that does not call it (every other behaves alike to
    every layer: checking them all would cost the fleet's size for each capability), the gateway,
    the ingress, strangers and Prometheus."""
    fleet = ctx.fleet
    ns = cap.namespace
    callers = fleet.callers.get(cap.name, frozenset())
    other = next((m for m in sorted(fleet.members) if m != cap.name and m not in callers), None)
    out = [
        Client(f"capability {name}", ns, {names.CAPABILITY: name}, name, name)
        for name in sorted(callers | ({other} if other else set()))
        if fleet.members[name].state != "absent"
    ]
    gateway = access.mcp_gateway_peer(fleet)
    if gateway is not None:
        out.append(Client("the MCP gateway", ns, dict(gateway.labels), gateway.name, gateway.name))
    source = access.ingress_source(fleet)
    if source is not None:
        out.append(Client("the ingress controller", source.namespace, {}, source.identity or "ingress", source.consul))
    out += [
        Client("a stranger pod in the namespace", ns, {"app": "stranger"}, "default", "stranger"),
        Client("a pod of another namespace", "elsewhere", {"app": "stranger"}, "default", "stranger"),
        Client("Prometheus (no mesh identity)", "monitoring", {"app": "prometheus"}, None, "prometheus"),
    ]
    return out


def declared(grants: list[access.Grant], client: Client) -> set[int]:
    """The ports `client` may reach, from the grants."""
    ports: set[int] = set()
    for grant in grants:
        peer = grant.peer
        match = (
            peer.kind == "anyone"
            or (peer.kind == "capability" and client.label == f"capability {peer.name}")
            or (peer.kind == "mcp-gateway" and client.label == "the MCP gateway")
            or (peer.kind == "ingress" and client.label == "the ingress controller")
        )
        if match:
            ports |= {p.number for p in grant.ports}
    return ports


def _port_matches(rule_port: Mapping[str, Any], number: int, name: str) -> bool:
    value = rule_port.get("port")
    return value is None or value in (number, name)


def network_policy(policies: list[Obj], pod: Pod, client: Client, number: int, name: str) -> bool | None:
    """None: no policy selects the pod (this layer admits everything)."""
    selecting = [p for p in policies if selects(p["spec"].get("podSelector"), pod.labels)]
    if not selecting:
        return None
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            if rule.get("ports") and not any(_port_matches(p, number, name) for p in rule["ports"]):
                continue
            peers = rule.get("from")
            if not peers:
                return True
            for peer in peers:
                namespaces = peer.get("namespaceSelector")
                in_namespace = (
                    selects(namespaces, {"kubernetes.io/metadata.name": client.namespace})
                    if namespaces is not None
                    else client.namespace == policy["metadata"].get("namespace")
                )
                if in_namespace and ("podSelector" not in peer or selects(peer["podSelector"], client.labels)):
                    return True
    return False


def istio(policies: list[Obj], peer_auth: list[Obj], pod: Pod, client: Client, number: int) -> bool | None:
    applying = [
        p
        for p in policies
        if p["spec"].get("action", "ALLOW") == "ALLOW" and selects(p["spec"].get("selector"), pod.labels)
    ]
    strict = any(_strict(p, number) for p in peer_auth if selects(p["spec"].get("selector"), pod.labels))
    if client.account is None and strict:
        return False  # no mesh identity: the mTLS handshake fails
    if not applying:
        return None
    principal = f"cluster.local/ns/{client.namespace}/sa/{client.account}" if client.account else None
    for policy in applying:
        for rule in policy["spec"].get("rules", []):
            ports = [p for op in rule.get("to", []) for p in op["operation"].get("ports", [])]
            if ports and str(number) not in ports:
                continue
            sources = [s["source"] for s in rule.get("from", [])]
            if not sources or any(_source(s, principal, client.namespace) for s in sources):
                return True
    return False


def _strict(peer_auth: Obj, number: int) -> bool:
    spec = peer_auth["spec"]
    level = (spec.get("portLevelMtls") or {}).get(str(number))
    return (level or spec.get("mtls") or {}).get("mode") == "STRICT"


def _source(source: Mapping[str, Any], principal: str | None, namespace: str) -> bool:
    if principal is None:
        return False  # principals and namespaces both come from the peer certificate
    if "principals" in source and principal not in source["principals"]:
        return False
    return not ("namespaces" in source and namespace not in source["namespaces"])


def linkerd(objects: list[Obj], pod: Pod, client: Client, number: int, name: str) -> bool | None:
    servers = [
        s
        for s in of_kind(objects, "Server")
        if selects(s["spec"].get("podSelector"), pod.labels) and s["spec"]["port"] in (name, number)
    ]
    if not servers:
        return None
    authentications = {
        (o["kind"], o["metadata"]["name"]): o
        for o in of_kind(objects, "MeshTLSAuthentication", "NetworkAuthentication")
    }
    for policy in of_kind(objects, "AuthorizationPolicy"):
        if not policy["apiVersion"].startswith("policy.linkerd.io"):
            continue
        target = policy["spec"]["targetRef"]
        if target.get("kind") != "Server" or target["name"] not in {s["metadata"]["name"] for s in servers}:
            continue
        refs = policy["spec"].get("requiredAuthenticationRefs", [])
        if refs and all(_authenticated(authentications.get((r["kind"], r["name"])), client, policy) for r in refs):
            return True
    return False


def _authenticated(authentication: Obj | None, client: Client, policy: Obj) -> bool:
    if authentication is None:
        return False
    if authentication["kind"] == "NetworkAuthentication":
        return True
    if client.account is None:
        return False
    default_ns = policy["metadata"].get("namespace")
    for ref in authentication["spec"].get("identityRefs", []):
        if ref["kind"] == "Namespace" and ref["name"] == client.namespace:
            return True
        if (
            ref["kind"] == "ServiceAccount"
            and ref["name"] == client.account
            and ref.get("namespace", default_ns) == client.namespace
        ):
            return True
    return False


def consul(objects: list[Obj], pod: Pod, client: Client, number: int) -> bool | None:
    excluded = pod.annotations.get("consul.hashicorp.com/transparent-proxy-exclude-inbound-ports", "")
    if pod.annotations.get("consul.hashicorp.com/connect-inject") != "true" or str(number) in excluded.split(","):
        return None
    if client.account is None:
        return False  # the proxy requires mTLS
    service = pod.annotations.get("consul.hashicorp.com/connect-service")
    intentions = [i for i in of_kind(objects, "ServiceIntentions") if i["spec"]["destination"]["name"] == service]
    sources = [s for i in intentions for s in i["spec"].get("sources", [])]
    exact = next((s for s in sources if s["name"] == client.service), None)
    if exact is not None:
        return bool(exact.get("action") == "allow")
    wildcard = next((s for s in sources if s["name"] == "*"), None)
    return wildcard is not None and wildcard.get("action") == "allow"


def check(cap: ResolvedCapability, objects: list[Obj], pods: list[Pod], ctx: Context, report: Report) -> None:
    routing = ctx.fleet.spec.routing
    enforced = routing.mesh != "none" or ctx.fleet.spec.security.networkPolicy
    if not pods:
        return
    pod = pods[0]
    policies = of_kind(objects, "NetworkPolicy")
    if not enforced and not policies:
        return  # no layer that could deny anything, and nothing that should be denied
    authz = [o for o in of_kind(objects, "AuthorizationPolicy") if o["apiVersion"].startswith("security.istio.io")]
    peer_auth = of_kind(objects, "PeerAuthentication")
    grants = access.grants(cap, ctx)
    cap_ports = names.ports(cap)
    for client in clients(cap, ctx):
        allowed = declared(grants, client)
        for port in cap_ports:
            layers = {
                "NetworkPolicy": network_policy(policies, pod, client, port.number, port.name),
                "Istio": istio(authz, peer_auth, pod, client, port.number),
                "Linkerd": linkerd(objects, pod, client, port.number, port.name),
                "Consul": consul(objects, pod, client, port.number),
            }
            denied = sorted(layer for layer, verdict in layers.items() if verdict is False)
            if port.number in allowed and denied:
                report(
                    f"{client.label} may call {cap.name} on port {port.name} ({port.number}) "
                    f"but {', '.join(denied)} denies it"
                )
            if enforced and port.number not in allowed and not denied:
                report(
                    f"{client.label} can reach {cap.name} on port {port.name} ({port.number}), which nothing declares"
                )
