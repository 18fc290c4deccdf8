"""Every reference resolves: named ports, selectors, scale and rollout targets, traffic routing,
analysis templates, and every ConfigMap and Secret a pod reads.

Controller rules encoded here:
- kube-controller-manager / kubelet: a named `targetPort` and a probe's named port resolve among
  the pod's container ports; a Service, PDB or HPA target that selects no pod does nothing.
- argo-rollouts (`rollout/trafficrouting`, `utils/analysis/factory.go`): `stableService`,
  `canaryService`, `activeService`, `previewService` name Services; the Istio VirtualService names
  its routes; the Gateway API plugin's `httpRoutes` name HTTPRoutes; an AnalysisTemplate's args are
  all supplied, and `podTemplateHashValue` is `Stable` or `Latest` (anything else becomes "").
- prometheus-operator: a ServiceMonitor endpoint's `port` is a port name of the selected Service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from skipper_render.wiring.index import Obj, Pod, container_ports, named, of_kind, owner_of, pods, selects

Report = Callable[[str], None]


def probes(pod: Pod, report: Report) -> None:
    for container in pod.containers:
        names = {p["name"] for p in container.get("ports", []) if "name" in p}
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = container.get(kind) or {}
            for handler in ("httpGet", "tcpSocket", "grpc"):
                port = (probe.get(handler) or {}).get("port")
                if isinstance(port, str) and port not in names:
                    report(f"{pod.owner}: container {container['name']} {kind} uses port {port!r}, not one of its own")


def services(objects: list[Obj], pod_list: list[Pod], report: Report) -> None:
    for svc in of_kind(objects, "Service"):
        selector = svc["spec"].get("selector", {})
        backing = [p for p in pod_list if selects(selector, p.labels)]
        if not backing:
            report(f"Service {svc['metadata']['name']} selects no pod of its workload")
            continue
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            for pod in backing:
                if isinstance(target, str) and target not in container_ports(pod):
                    report(
                        f"Service {svc['metadata']['name']} port {port.get('name')}: {pod.owner} has no port {target!r}"
                    )


def scaling(objects: list[Obj], pod_list: list[Pod], report: Report) -> None:
    workloads = {(o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] in ("Deployment", "Rollout")}
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) not in workloads:
            report(
                f"HorizontalPodAutoscaler {hpa['metadata']['name']} scales {ref['kind']} {ref['name']}, "
                "which is not rendered"
            )
    for pdb in of_kind(objects, "PodDisruptionBudget"):
        if not any(selects(pdb["spec"].get("selector"), p.labels) for p in pod_list):
            report(f"PodDisruptionBudget {pdb['metadata']['name']} selects no pod")


def rollouts(objects: list[Obj], report: Report) -> None:
    services = named(objects, "Service")
    templates = named(objects, "AnalysisTemplate")
    virtual_services = named(objects, "VirtualService", "networking.istio.io")
    http_routes = named(objects, "HTTPRoute", "gateway.networking.k8s.io")
    for rollout in of_kind(objects, "Rollout"):
        name = rollout["metadata"]["name"]
        strategy = rollout["spec"]["strategy"]
        for kind, spec in strategy.items():
            for field in ("stableService", "canaryService", "activeService", "previewService"):
                if field in spec and spec[field] not in services:
                    report(f"Rollout {name}: {kind}.{field} {spec[field]!r} is not a rendered Service")
            for analysis in _analyses(spec):
                _analysis(name, analysis, templates, report)
            routing = spec.get("trafficRouting") or {}
            _traffic(name, routing, virtual_services, http_routes, objects, report)


def _analyses(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [spec[k] for k in ("analysis", "prePromotionAnalysis", "postPromotionAnalysis") if k in spec]
    return found + [s["analysis"] for s in spec.get("steps", []) if "analysis" in s]


def _analysis(name: str, analysis: Mapping[str, Any], templates: Mapping[str, Obj], report: Report) -> None:
    given = {a["name"]: a for a in analysis.get("args", [])}
    for arg in given.values():
        value = (arg.get("valueFrom") or {}).get("podTemplateHashValue")
        if value is not None and value not in ("Stable", "Latest"):
            report(f"Rollout {name}: podTemplateHashValue {value!r} is neither Stable nor Latest (it would be '')")
    for ref in analysis.get("templates", []):
        template = templates.get(ref["templateName"])
        if template is None:
            report(f"Rollout {name}: AnalysisTemplate {ref['templateName']!r} is not rendered")
            continue
        needed = {a["name"] for a in template["spec"].get("args", []) if "value" not in a}
        missing = sorted(needed - set(given))
        if missing:
            report(f"Rollout {name}: AnalysisTemplate {ref['templateName']} needs args {', '.join(missing)}")


def _traffic(
    name: str,
    routing: Mapping[str, Any],
    virtual_services: Mapping[str, Obj],
    http_routes: Mapping[str, Obj],
    objects: list[Obj],
    report: Report,
) -> None:
    istio = (routing.get("istio") or {}).get("virtualService")
    if istio is not None:
        service = virtual_services.get(istio["name"])
        routes = {r.get("name") for r in (service or {}).get("spec", {}).get("http", [])}
        for route in istio.get("routes", []):
            if route not in routes:
                report(f"Rollout {name}: VirtualService {istio['name']} has no route {route!r}")
    for route in ((routing.get("plugins") or {}).get("argoproj-labs/gatewayAPI") or {}).get("httpRoutes", []):
        found = http_routes.get(route["name"])
        if found is None:
            report(f"Rollout {name}: the Gateway API plugin weights HTTPRoute {route['name']!r}, which is not rendered")
            continue
        weighted = [b for rule in found["spec"]["rules"] for b in rule.get("backendRefs", []) if "weight" in b]
        if len(weighted) < 2:
            report(f"Rollout {name}: HTTPRoute {route['name']} has no stable and canary backends to weight")
    if (routing.get("plugins") or {}).get("hashicorp/consul") is not None:
        for kind in ("ServiceSplitter", "ServiceResolver"):
            if name not in named(objects, kind):
                report(f"Rollout {name}: the Consul plugin needs {kind} {name}")
    nginx = routing.get("nginx")
    if nginx is not None and nginx["stableIngress"] not in named(objects, "Ingress"):
        report(f"Rollout {name}: nginx stableIngress {nginx['stableIngress']!r} is not rendered")


def mounts(pod_list: Iterable[Pod], objects: list[Obj], expected_secrets: set[str], report: Report) -> None:
    """Every ConfigMap and Secret a pod mounts or reads exists (rendered, or expected to exist)."""
    configmaps = {o["metadata"]["name"]: o for o in of_kind(objects, "ConfigMap")}
    secrets = {o["metadata"]["name"] for o in of_kind(objects, "Secret")}
    secrets |= {o["spec"]["target"]["name"] for o in of_kind(objects, "ExternalSecret")}
    secrets |= {o["spec"]["secretName"] for o in of_kind(objects, "Certificate")}
    secrets |= expected_secrets
    for pod in pod_list:
        volumes = {v["name"]: v for v in pod.spec.get("volumes", [])}
        for volume in volumes.values():
            if "configMap" in volume and volume["configMap"]["name"] not in configmaps:
                report(f"{pod.owner} mounts ConfigMap {volume['configMap']['name']!r}, which is not rendered")
            if "secret" in volume and volume["secret"]["secretName"] not in secrets:
                report(
                    f"{pod.owner} mounts Secret {volume['secret']['secretName']!r}, "
                    "which is neither rendered nor expected"
                )
        for container in pod.containers:
            for mount in container.get("volumeMounts", []):
                volume = volumes.get(mount["name"])
                if volume is None:
                    report(f"{pod.owner}: container {container['name']} mounts unknown volume {mount['name']!r}")
                    continue
                key = mount.get("subPath")
                configmap = configmaps.get((volume.get("configMap") or {}).get("name", ""))
                if key and configmap is not None and key not in configmap.get("data", {}):
                    report(
                        f"{pod.owner} mounts key {key!r} of ConfigMap {configmap['metadata']['name']}, which it lacks"
                    )
            for env in container.get("env", []):
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref is not None and ref["name"] not in secrets:
                    report(
                        f"{pod.owner} reads Secret {ref['name']!r} (env {env['name']}), "
                        "which is neither rendered nor expected"
                    )


def monitors(objects: list[Obj], report: Report) -> None:
    services = of_kind(objects, "Service")
    for monitor in of_kind(objects, "ServiceMonitor"):
        selected = [s for s in services if selects(monitor["spec"]["selector"], s["metadata"].get("labels", {}))]
        if len(selected) != 1:
            listed = ", ".join(s["metadata"]["name"] for s in selected) or "none"
            report(
                f"ServiceMonitor {monitor['metadata']['name']} selects {len(selected)} Services ({listed}): "
                "each pod must be scraped exactly once"
            )
            continue
        ports = {p.get("name") for p in selected[0]["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            if endpoint.get("port") not in ports:
                report(
                    f"ServiceMonitor {monitor['metadata']['name']} scrapes port {endpoint.get('port')!r}, "
                    f"not a port of Service {selected[0]['metadata']['name']}"
                )


def routes(objects: list[Obj], services: Mapping[str, set[int | str]], report: Report) -> None:
    """Routes reach Services that exist, on ports they serve (`services`: name -> port numbers and names)."""
    for route in of_kind(objects, "HTTPRoute"):
        if route["apiVersion"].startswith("policy.linkerd.io"):
            continue
        for rule in route["spec"].get("rules", []):
            for backend in rule.get("backendRefs", []):
                if backend["name"] not in services or backend.get("port") not in services[backend["name"]]:
                    report(
                        f"{owner_of(route)} routes to {backend['name']}:{backend.get('port')}, which no Service serves"
                    )
    for ingress in of_kind(objects, "Ingress"):
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]
                port = backend["port"].get("name", backend["port"].get("number"))
                if backend["name"] not in services or port not in services[backend["name"]]:
                    report(f"{owner_of(ingress)} routes to {backend['name']}:{port}, which no Service serves")


def all_pods(objects: list[Obj]) -> list[Pod]:
    return list(pods(objects))
