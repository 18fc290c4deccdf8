"""What every mesh integration shares: the retry budget, ejection, timeouts and Service hosts."""

from __future__ import annotations

from skipper_render.model.ikanos import Port
from skipper_render.model.klass import ClassSpec
from skipper_render.resolve import ResolvedCapability

REQUEST_TIMEOUT = "30s"  # one request, retries included: the same bound in every mesh
# Ports a mesh's injected proxy owns inside every meshed pod: nothing of ours may listen there.
SIDECAR_PORTS = {
    "istio": (15000, 15090),
    "linkerd": (4140, 4191),
    "consul": (19000, 21000),
}


def retries(cap: ResolvedCapability) -> int:
    """Re-tries after the first call: Resilience4j's maxAttempts counts the first call."""
    retry = cap.klass.resilience.retry if cap.klass.resilience else None
    return max((retry.maxAttempts or 1) - 1, 0) if retry else 0


def resilient(port: Port) -> bool:
    """Whether a port's requests may be retried and time-bounded by the mesh. An MCP tool call is a
    POST with side effects (the engine's upstream operations may write) and may run long: never
    retried, never cut at the request timeout."""
    return port.expose.type not in ("mcp", "control")


def ejection(klass: ClassSpec) -> tuple[int, str] | None:
    """A class's circuit breaker as endpoint ejection: (consecutive failures, time ejected).

    Resilience4j trips on a failure rate over a sliding window; meshes eject an endpoint after
    consecutive failures, so the count is the window's share of failures at the threshold."""
    breaker = klass.resilience.circuitBreaker if klass.resilience else None
    if breaker is None:
        return None
    failures = max(1, round((breaker.slidingWindowSize or 10) * (breaker.failureRateThreshold or 50) / 100))
    return failures, breaker.waitDurationInOpenState or "30s"


def host(cap: ResolvedCapability, service: str | None = None) -> str:
    """The cluster DNS name of the capability's Service (or of another Service beside it)."""
    return f"{service or cap.name}.{cap.namespace}.svc.cluster.local"
