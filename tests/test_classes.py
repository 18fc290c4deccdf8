"""The built-in CapabilityClasses are Skipper's defaults (naftiko/fleet skipper/defaults/*.yaml)."""

from __future__ import annotations

from skipper_render.model.klass import BUILTIN_CLASSES
from skipper_render.resolve import builtin_classes


def test_builtin_classes_match_skippers_defaults() -> None:
    classes = builtin_classes()
    assert tuple(sorted(classes)) == BUILTIN_CLASSES
    table = {  # research/naftiko-domain.md section 3.6
        "dev": (("50m", "64Mi"), ("100m", "128Mi"), (1, 2, 10), (80, 5, "60s", 2), (2, "1s"), (5, "500ms"), 20),
        "standard": (
            ("250m", "256Mi"),
            ("500m", "512Mi"),
            (1, 4, 100),
            (50, 10, "30s", 3),
            (3, "500ms"),
            (20, "100ms"),
            100,
        ),
        "premium": (
            ("500m", "512Mi"),
            ("1", "1Gi"),
            (2, 20, 1000),
            (30, 20, "15s", 5),
            (5, "200ms"),
            (100, "50ms"),
            1000,
        ),
    }
    for name, (requests, limits, hpa, breaker, retry, bulkhead, rate) in table.items():
        spec = classes[name]
        assert spec.resources.requests is not None and spec.resources.limits is not None
        assert (spec.resources.requests.cpu, spec.resources.requests.memory) == requests
        assert (spec.resources.limits.cpu, spec.resources.limits.memory) == limits
        assert spec.hpa is not None and spec.resilience is not None
        assert (spec.hpa.minReplicas, spec.hpa.maxReplicas, spec.hpa.targetRequestsPerSecond) == hpa
        cb, rt, bh, rl = (
            spec.resilience.circuitBreaker,
            spec.resilience.retry,
            spec.resilience.bulkhead,
            spec.resilience.rateLimit,
        )
        assert cb is not None and rt is not None and bh is not None and rl is not None
        assert (
            cb.failureRateThreshold,
            cb.slidingWindowSize,
            cb.waitDurationInOpenState,
            cb.permittedCallsInHalfOpenState,
        ) == breaker
        assert (rt.maxAttempts, rt.waitDuration, rt.retryOnResultPredicate) == (*retry, "statusCode >= 500")
        assert (bh.maxConcurrentCalls, bh.maxWaitDuration) == bulkhead
        assert (rl.limitForPeriod, rl.limitRefreshPeriod, rl.timeoutDuration) == (rate, "1s", "0ms")
