"""No two listeners of one pod on one port, the mesh's injected proxy included.

A pod's containers share one network namespace, so every port any of its processes binds counts:
declared container ports, and the addresses a process reads from its own configuration
(agentgateway's `config.*Addr` and `binds`, OPA's `--addr` / `--diagnostic-addr` and its ext_authz
plugin's `addr`), even on localhost. A meshed pod also holds its proxy's ports (Istio 15000-15090,
Linkerd 4140-4191, Consul's dataplane 19000-21000): binding one of them fails at start.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from skipper_render.generators.mesh.base import SIDECAR_PORTS
from skipper_render.wiring.index import Obj, Pod, of_kind

Report = Callable[[str, int | None], None]  # message, the port it is about


def meshed(pod: Pod) -> str | None:
    """The mesh whose proxy is injected into the pod, from the labels and annotations its webhook reads."""
    if pod.labels.get("sidecar.istio.io/inject") == "true":
        return "istio"
    if pod.annotations.get("linkerd.io/inject") == "enabled":
        return "linkerd"
    if pod.annotations.get("consul.hashicorp.com/connect-inject") == "true":
        return "consul"
    return None


def _port(address: Any) -> int | None:
    text = str(address)
    return int(text.rpartition(":")[2]) if ":" in text and text.rpartition(":")[2].isdigit() else None


def _config(pod: Pod, container: Mapping[str, Any], path: str, configmaps: Mapping[str, Obj]) -> Any:
    """The file at `path` as the container sees it, when it comes from a rendered ConfigMap."""
    volumes = {v["name"]: v for v in pod.spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        directory = mount["mountPath"].rstrip("/")
        if not path.startswith(directory + "/"):
            continue
        source = configmaps.get((volumes.get(mount["name"], {}).get("configMap") or {}).get("name", ""))
        text = (source or {}).get("data", {}).get(path[len(directory) + 1 :])
        return yaml.safe_load(text) if text else None
    return None


def listeners(pod: Pod, configmaps: Mapping[str, Obj]) -> list[tuple[str, int]]:
    """(who, port) for every port a process of the pod binds."""
    out: list[tuple[str, int]] = []
    for container in pod.containers:
        name = container["name"]
        out += [(name, p["containerPort"]) for p in container.get("ports", [])]
        args = [str(a) for a in container.get("args", [])]
        for arg in args:  # OPA's own listeners
            for flag in ("--addr=", "--diagnostic-addr="):
                if arg.startswith(flag) and (port := _port(arg[len(flag) :])) is not None:
                    out.append((name, port))
        paths = [v for f, v in itertools.pairwise(args) if f in ("-f", "--config-file")]
        paths += [a.split("=", 1)[1] for a in args if a.startswith("--config-file=")]
        for path in paths:  # agentgateway's and OPA's config files
            _config_listeners(pod, container, path, configmaps, out)
    return sorted(set(out))


def _config_listeners(
    pod: Pod, container: Mapping[str, Any], path: str, configmaps: Mapping[str, Obj], out: list[tuple[str, int]]
) -> None:
    config = _config(pod, container, path, configmaps)
    if not isinstance(config, dict):
        return
    name = container["name"]
    for key in ("adminAddr", "statsAddr", "readinessAddr"):  # agentgateway
        port = _port((config.get("config") or {}).get(key, ""))
        if port is not None:
            out.append((name, port))
    out += [(name, b["port"]) for b in config.get("binds", []) if "port" in b]
    grpc = ((config.get("plugins") or {}).get("envoy_ext_authz_grpc") or {}).get("addr")  # OPA-Envoy
    if (port := _port(grpc or "")) is not None:
        out.append((name, port))


def check(objects: list[Obj], pods: list[Pod], report: Report) -> None:
    configmaps = {o["metadata"]["name"]: o for o in of_kind(objects, "ConfigMap")}
    for pod in pods:
        taken: dict[int, str] = {}
        mesh = meshed(pod)
        low, high = SIDECAR_PORTS.get(mesh or "", (0, -1))
        for who, port in listeners(pod, configmaps):
            other = taken.get(port)
            if other is not None and other != who:
                report(f"{pod.owner}: containers {other} and {who} both listen on port {port}", port)
            taken[port] = who
            if low <= port <= high:
                report(
                    f"{pod.owner}: {who} listens on port {port}, which {mesh}'s injected proxy owns ({low}-{high})",
                    port,
                )
