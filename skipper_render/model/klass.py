"""CapabilityClass: resources, HPA bounds and Resilience4j defaults (Skipper's `naftiko.io/v1alpha3`).

The built-in `dev`, `standard` and `premium` classes ship as package data, byte-for-byte Skipper's
defaults (read by `load`, validated by `resolve.builtin_classes`); `spec.classes` in a fleet adds
classes or replaces a built-in one whole. Models read no files.
"""

from pydantic import Field

from skipper_render.model.common import Duration, Quantity, Strict

BUILTIN_CLASSES = ("dev", "premium", "standard")


class ResourceList(Strict):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(Strict):
    requests: ResourceList | None = None
    limits: ResourceList | None = None


class Hpa(Strict):
    minReplicas: int = Field(1, ge=1)
    maxReplicas: int = Field(ge=1)
    targetRequestsPerSecond: int | None = Field(None, ge=1)


class CircuitBreaker(Strict):
    failureRateThreshold: int | None = Field(None, ge=1, le=100)
    slidingWindowSize: int | None = Field(None, ge=1)
    waitDurationInOpenState: Duration | None = None
    permittedCallsInHalfOpenState: int | None = Field(None, ge=1)


class Retry(Strict):
    maxAttempts: int | None = Field(None, ge=1)
    waitDuration: Duration | None = None
    retryOnResultPredicate: str | None = None


class Bulkhead(Strict):
    maxConcurrentCalls: int | None = Field(None, ge=1)
    maxWaitDuration: Duration | None = None


class RateLimit(Strict):
    limitForPeriod: int | None = Field(None, ge=1)
    limitRefreshPeriod: Duration | None = None
    timeoutDuration: Duration | None = None


class Resilience(Strict):
    circuitBreaker: CircuitBreaker | None = None
    retry: Retry | None = None
    bulkhead: Bulkhead | None = None
    rateLimit: RateLimit | None = None


class ClassSpec(Strict):
    """The `spec` of a CapabilityClass; only `resources` is required, as in the CRD."""

    resources: Resources
    hpa: Hpa | None = None
    resilience: Resilience | None = None
