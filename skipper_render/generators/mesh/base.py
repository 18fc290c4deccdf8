"""What every mesh integration shares: who may call a capability, its retry budget and ejection."""

from __future__ import annotations

from skipper_render import names
from skipper_render.generators.base import Context
from skipper_render.model.klass import ClassSpec
from skipper_render.resolve import ResolvedCapability

REQUEST_TIMEOUT = "30s"  # one request, retries included: the same bound in every mesh


def gateway_accounts(ctx: Context) -> list[str]:
    """The fleet gateways' ServiceAccounts (their mesh identity)."""
    routing = ctx.fleet.spec.routing
    return [names.mcp_gateway(ctx.fleet)] if routing.mcpGateway and routing.mcpGateway.enabled else []


def allowed_accounts(cap: ResolvedCapability, ctx: Context) -> set[str]:
    """ServiceAccounts that may call `cap`: its declared callers and the gateways."""
    return set(ctx.fleet.callers.get(cap.name, ())) | set(gateway_accounts(ctx))


def retries(cap: ResolvedCapability) -> int:
    """Re-tries after the first call: Resilience4j's maxAttempts counts the first call."""
    retry = cap.klass.resilience.retry if cap.klass.resilience else None
    return max((retry.maxAttempts or 1) - 1, 0) if retry else 0


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
