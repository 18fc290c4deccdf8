"""The fleet manifest (`naftiko.fleet.yaml`, kind Fleet) and its environment overlays (kind Environment).

Models only: no file reads. `FleetSpec` is validated *after* the overlay is applied, so the same
model checks the base manifest and every environment's effective manifest.
"""

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from skipper_render.model.common import (
    CapabilityName,
    DnsLabel,
    Duration,
    LabelKey,
    LabelValue,
    ObjectRef,
    PlainStr,
    Replicas,
    Strict,
    quoted,
)
from skipper_render.model.klass import ClassSpec, Resources

API_VERSION = "fleet.naftiko.io/v1alpha1"
DEFAULT_IMAGE = "ghcr.io/naftiko/ikanos"
DEFAULT_ENGINE_VERSION = "v1.0.0-beta4"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_engine_version(value: str) -> str:
    if value == "latest":
        raise ValueError("engine version 'latest' is not reproducible; pin a tag or a sha256 digest")
    if not (_DIGEST.fullmatch(value) or (_TAG.fullmatch(value) and not value.startswith("sha256"))):
        raise ValueError(f"{quoted(value)} is neither an image tag nor a digest 'sha256:<64 hex>'")
    return value


class Metadata(Strict):
    name: DnsLabel
    labels: dict[LabelKey, LabelValue] | None = None
    annotations: dict[str, str] | None = None


class Engine(Strict):
    image: str = DEFAULT_IMAGE
    version: str = DEFAULT_ENGINE_VERSION

    _check = field_validator("version")(check_engine_version)


class ExposeSettings(Strict):
    public: bool = False
    lifecycle: Literal["experimental", "production", "deprecated"] | None = None


class CanaryStep(Strict):
    setWeight: int | None = Field(None, ge=0, le=100)
    pause: dict[str, Duration] | None = None


class Analysis(Strict):
    successRate: float = Field(0.99, gt=0, le=1)
    latencyP99: Duration | None = None
    interval: Duration = "1m"


class Rollout(Strict):
    strategy: Literal["rolling", "canary", "blueGreen"] = "rolling"
    maxSurge: int | str | None = None
    maxUnavailable: int | str | None = None
    steps: list[CanaryStep] | None = None
    analysis: Analysis | None = None
    autoPromote: bool | None = None


class BindSource(Strict):
    """Per-bind override of where a bind's values come from (SPEC 2.6)."""

    remoteKey: str | None = None
    secretName: DnsLabel | None = None


State = Literal["running", "suspended", "absent"]


class CapabilityFields(Strict):
    """Every capability field except `spec`; `spec.defaults` uses exactly these."""

    class_: DnsLabel | None = Field(None, alias="class")
    state: State | None = None
    replicas: Replicas | None = None
    version: str | None = None
    exposes: dict[str, ExposeSettings] | None = None
    rollout: Rollout | None = None
    env: dict[str, PlainStr] | None = None
    labels: dict[LabelKey, LabelValue] | None = None
    calls: list[CapabilityName] | None = None
    binds: dict[str, BindSource] | None = None
    resources: Resources | None = None

    _check_version = field_validator("version")(lambda v: None if v is None else check_engine_version(v))

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name in value or {}:
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{quoted(name)} is not an environment variable name")
        return value


class CapabilityEntry(CapabilityFields):
    spec: str = Field(min_length=1)


class IssuerRef(Strict):
    kind: Literal["Issuer", "ClusterIssuer"] = "ClusterIssuer"
    name: str


class GatewayRef(Strict):
    name: str
    namespace: str | None = None
    sectionName: str | None = None


class Tls(Strict):
    secretName: str | None = None
    issuer: IssuerRef | None = None


class DnsFailover(Strict):
    """Route 53 failover records for the public hosts, written by external-dns from route annotations
    (on by default in a multi-cluster environment with one primary)."""

    enabled: bool = Field(True, description="false: no failover records (a global load balancer does it)")
    provider: Literal["aws"] = Field("aws", description="external-dns failover records exist for Route 53 only")
    annotationPrefix: Literal["external-dns.alpha.kubernetes.io/", "external-dns.kubernetes.io/"] = Field(
        "external-dns.alpha.kubernetes.io/",
        description="external-dns up to v0.21 reads the alpha prefix; v0.22 and later the stable one",
    )
    healthChecks: dict[DnsLabel, str] | None = Field(
        None, description="Route 53 health check id per cluster (must exist): when it fails, DNS fails over"
    )


class Ingress(Strict):
    api: Literal["gateway", "ingress"] = "gateway"
    gateway: GatewayRef | None = None
    className: str | None = None
    host: str | None = None
    tls: Tls | None = None
    controllerNamespace: DnsLabel | None = None  # where the ingress controller runs (mesh authorization)
    serviceAccount: DnsLabel | None = None  # the controller's ServiceAccount: its mesh identity, Consul service
    dnsFailover: DnsFailover | None = Field(
        None,
        description="Multi-cluster environments: PRIMARY/SECONDARY DNS records on the public routes (default on)",
    )


class McpAuth(Strict):
    """OAuth for MCP clients: agentgateway's `mcpAuthentication` (mode strict)."""

    issuer: str = Field(min_length=1, description="The token issuer (`iss`), e.g. https://login.example.com")
    audiences: list[str] = Field(min_length=1, description="Accepted token audiences (`aud`)")
    jwksUrl: str | None = Field(None, description="Where the issuer's signing keys are (default: derived from issuer)")


class McpGateway(Strict):
    enabled: bool = False
    host: str | None = Field(None, description="Public host name; makes the gateway reachable from outside")
    path: str = "/mcp"
    image: str = "cr.agentgateway.dev/agentgateway:v1.4.1"
    replicas: int = Field(2, ge=1)
    auth: McpAuth | None = Field(None, description="Client authentication; required with a host")


class RestGateway(Strict):
    enabled: bool = False
    host: str | None = None
    pathPrefix: str = "/{capability}"


class Routing(Strict):
    mesh: Literal["none", "istio", "linkerd", "consul"] = "none"
    ingress: Ingress | None = None
    mcpGateway: McpGateway | None = None
    restGateway: RestGateway | None = None


class Otlp(Strict):
    endpoint: str
    protocol: Literal["grpc", "http/protobuf", "http/json"] = "grpc"
    sampling: float = Field(1.0, ge=0, le=1)
    propagation: Literal["w3c", "b3"] = "w3c"


class Prometheus(Strict):
    serviceMonitor: bool = True
    scrapeConfig: bool = False
    address: str = "http://prometheus-operated.monitoring.svc:9090"  # queried by rollout analysis


class Dashboard(Strict):
    grafana: bool = False


class Alerts(Strict):
    latencyP99: Duration | None = None
    availability: float | None = Field(None, gt=0, lt=100)
    window: Duration = "30d"
    outageFor: Duration = "2m"
    runbookUrl: str = "https://github.com/naftiko/skipper-render/blob/main/docs/runbooks.md#{alert}"


class Observability(Strict):
    otlp: Otlp | None = None
    prometheus: Prometheus = Field(default_factory=Prometheus.model_construct)
    dashboard: Dashboard | None = None
    alerts: Alerts | None = None


class Secrets(Strict):
    provider: Literal["kubernetes", "vault", "aws-secrets-manager", "azure-key-vault", "doppler"] = "kubernetes"
    store: ObjectRef | None = None
    refreshInterval: Duration = "1h"
    remoteKey: str = "naftiko/{environment}/{capability}"


class Mtls(Strict):
    issuer: IssuerRef
    duration: Duration = "2160h"
    renewBefore: Duration = "360h"


class WardenBundle(Strict):
    service: str
    resource: str = "warden/{capability}.tar.gz"


class WardenSigning(Strict):
    keyId: str = "warden"
    publicKey: str  # fleet-relative path of the PEM public key; the private key never enters the repo
    scope: str | None = None


class DecisionLogs(Strict):
    service: str = Field(description="The audit collector every Warden ships decision logs to")
    auth: Literal["bearer", "none"] = Field(
        "bearer", description="bearer: token from Secret {fleet}-warden-audit, key token (never inline)"
    )


class Warden(Strict):
    enabled: bool = False
    image: str = "openpolicyagent/opa:1.10.0-envoy"  # OPA with the Envoy ext_authz gRPC plugin
    bundle: WardenBundle | None = None
    signing: WardenSigning | None = None
    decisionLogs: DecisionLogs | None = None


class Security(Strict):
    secrets: Secrets = Field(default_factory=Secrets.model_construct)
    mtls: Mtls | None = None
    networkPolicy: bool = False
    warden: Warden | None = None
    allowPlainEnv: list[str] | None = Field(
        None, description="Env names that look secret (*PASSWORD*, *TOKEN*, ...) but are not: a warning, not an error"
    )


class FleetSpec(Strict):
    namespace: DnsLabel
    engine: Engine = Field(default_factory=Engine.model_construct)
    classes: dict[DnsLabel, ClassSpec] | None = None
    defaults: CapabilityFields | None = None
    routing: Routing = Field(default_factory=Routing.model_construct)
    observability: Observability = Field(default_factory=Observability.model_construct)
    security: Security = Field(default_factory=Security.model_construct)
    capabilities: dict[CapabilityName, CapabilityEntry]
    environments: dict[DnsLabel, str] | None = None


class Fleet(Strict):
    apiVersion: Literal["fleet.naftiko.io/v1alpha1"]
    kind: Literal["Fleet"]
    metadata: Metadata
    spec: FleetSpec


class Cluster(Strict):
    name: DnsLabel
    region: str | None = None
    role: Literal["primary", "standby"] = "primary"


class PatchOp(Strict):
    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str
    value: Any = None
    from_: str | None = Field(None, alias="from")


class Pin(Strict):
    engine: str | None = None
    spec: str | None = Field(None, pattern=r"^sha256:[0-9a-f]{64}$")

    _check = field_validator("engine")(lambda v: None if v is None else check_engine_version(v))


class EnvironmentSpec(Strict):
    namespace: DnsLabel | None = None
    clusters: list[Cluster] | None = None
    merge: dict[str, Any] | None = None
    patches: list[PatchOp] | None = None
    pins: dict[CapabilityName, Pin] | None = None


class Environment(Strict):
    apiVersion: Literal["fleet.naftiko.io/v1alpha1"]
    kind: Literal["Environment"]
    metadata: Metadata
    spec: EnvironmentSpec = Field(default_factory=EnvironmentSpec.model_construct)
