"""Security (SPEC 2.6): External Secrets for binds, cert-manager Certificates, NetworkPolicies."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import FIXTURES, MINIMAL_SPEC, fleet_yaml, validate_object, write_tree

from skipper_render import render
from skipper_render.errors import ValidationError

SECURE = FIXTURES / "valid" / "secure"


def _objects() -> list[dict[str, Any]]:
    return list(render(SECURE, "prod").objects)


def _get(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_every_secret_a_pod_needs_has_an_external_secret() -> None:
    """Bind Secrets, the MCP gateway's bearer tokens and the Warden's audit token: none may be left
    for someone to create by hand (pods would wait forever)."""
    objects = _objects()
    external = {o["metadata"]["name"] for o in objects if o["kind"] == "ExternalSecret"}
    mounted = set()
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        mounted |= {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v and v["name"] != "mtls"}
        for container in pod["containers"]:
            for env in container.get("env", []):
                if "valueFrom" in env:
                    mounted.add(env["valueFrom"]["secretKeyRef"]["name"])
    assert (
        mounted
        == external
        == {
            "shipyard-bind-shared",
            "bearer-bind-api-auth",
            "vault-fleet-mcp-gateway-shipyard-tools",  # the gateway's token for shipyard's MCP expose
            "vault-fleet-warden-audit",  # the decision-log collector's token
        }
    )


def test_file_bind_template_rebuilds_the_file_the_engine_reads() -> None:
    secret = _get(_objects(), "ExternalSecret", "shipyard-bind-shared")["spec"]
    template = secret["target"]["template"]["data"]["secrets.yaml"]
    keys = {yaml.safe_load(line.split(": ", 1)[0]) for line in template.splitlines()}
    assert keys == {"dockyard-api-key", "mcp-server-token", "registry-api-version", "registry-bearer-token"}
    remote = {d["secretKey"]: d["remoteRef"]["key"] for d in secret["data"]}
    assert remote["dockyard-api-key"] == "naftiko/shared/dockyard"  # binds.dockyard-env.remoteKey
    assert remote["registry-bearer-token"] == "naftiko/prod/shipyard"
    assert secret["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "vault"}


def test_no_secret_value_is_rendered() -> None:
    text = yaml.safe_dump_all(_objects())
    for value in ("registry-bearer-token", "NAFTIKO_API_TOKEN"):  # only names and references appear
        assert f"{value}: " not in text.replace(f"{value}: {{{{", "")


def test_certificates_rotate_and_are_mounted() -> None:
    objects = _objects()
    certificate = _get(objects, "Certificate", "ping")["spec"]
    assert (certificate["duration"], certificate["renewBefore"]) == ("2160h", "360h")
    assert certificate["privateKey"]["rotationPolicy"] == "Always"
    assert "ping.secure-prod.svc.cluster.local" in certificate["dnsNames"]
    mounts = _get(objects, "Deployment", "ping")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "mtls", "mountPath": "/app/tls", "readOnly": True} in mounts


def test_network_policy_admits_callers_gateway_ingress_and_metrics() -> None:
    rules = _get(_objects(), "NetworkPolicy", "shipyard")["spec"]["ingress"]
    assert rules[0]["from"][0]["podSelector"]["matchExpressions"] == [
        {"key": "naftiko.io/capability", "operator": "In", "values": ["ping"]}
    ]
    assert {p["port"] for p in rules[0]["ports"]} == {3001, 3002, 3003}
    assert rules[1] == {
        "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "vault-fleet-mcp-gateway"}}}],
        "ports": [{"port": 3001, "protocol": "TCP"}],
    }
    assert rules[2] == {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
        "ports": [{"port": 3002, "protocol": "TCP"}],
    }
    policy = _get(_objects(), "NetworkPolicy", "bearer")["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert "ingress" not in policy  # no caller, no control port: the policy admits nothing


def test_network_policy_admits_the_ingress_to_rest_exposes_the_rest_gateway_routes(tmp_path: Path) -> None:
    fleet = tmp_path / "secure"
    shutil.copytree(SECURE, fleet)
    manifest = fleet / "naftiko.fleet.yaml"
    manifest.write_text(manifest.read_text().replace("mcpGateway: {enabled: true}", "restGateway: {enabled: true}"))
    objects = list(render(fleet, "prod").objects)
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        rest = {
            p["port"] for p in services[policy["metadata"]["name"]]["spec"]["ports"] if p["name"].startswith("rest")
        }
        from_ingress = [r for r in policy["spec"].get("ingress", []) if "namespaceSelector" in str(r.get("from"))]
        admitted = {p["port"] for r in from_ingress for p in r["ports"]}
        assert rest <= admitted, policy["metadata"]["name"]
    assert any(o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "ping" for o in objects)


def test_a_provider_needs_a_store(tmp_path: Path) -> None:
    extra = "security: {secrets: {provider: vault}}"
    spec = MINIMAL_SPEC.replace("capability:", "binds: [{namespace: env, keys: {TOKEN: api-token}}]\ncapability:")
    write_tree(tmp_path, {"naftiko.fleet.yaml": fleet_yaml(extra=extra), "hello.ikanos.yml": spec})
    with pytest.raises(ValidationError, match=r"secrets provider 'vault' needs security\.secrets\.store"):
        render(tmp_path, None)


PROVIDERS = {
    "secure": ("vault", r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*", True),
    "secrets-aws": ("aws-secrets-manager", r"[A-Za-z0-9/_+=.@-]{1,512}", True),
    "secrets-azure": ("azure-key-vault", r"secret/[0-9A-Za-z-]{1,127}", True),
    "secrets-doppler": ("doppler", r"[A-Z_][A-Z0-9_]*", False),
}


@pytest.mark.parametrize("case", sorted(PROVIDERS))
def test_each_provider_gets_remote_keys_it_accepts(case: str) -> None:
    """external-secrets providers/v1: Azure object names are [0-9A-Za-z-] (a `/` names the object
    type); Doppler secrets are UPPER_SNAKE values without properties; Vault and AWS take paths."""
    provider, pattern, uses_property = PROVIDERS[case]
    fleet = FIXTURES / "valid" / case
    assert (
        yaml.safe_load((fleet / "naftiko.fleet.yaml").read_text())["spec"]["security"]["secrets"]["provider"]
        == provider
    )
    objects = list(render(fleet, "prod").objects)
    external = [o for o in objects if o["kind"] == "ExternalSecret"]
    assert len(external) >= 4  # binds (file and env), the gateway's token, the audit token
    for obj in external:
        validate_object(obj)
        for entry in obj["spec"]["data"]:
            ref = entry["remoteRef"]
            assert re.fullmatch(pattern, ref["key"]), ref
            assert ("property" in ref) == uses_property


def _provider_fleet(tmp_path: Path, provider: str, remote_key: str, keys: str = "{API_TOKEN: api-token}") -> Path:
    spec = MINIMAL_SPEC + f"binds:\n  - namespace: creds\n    keys: {keys}\n"
    store = "{kind: ClusterSecretStore, name: s}"
    security = f"security: {{secrets: {{provider: {provider}, store: {store}, remoteKey: '{remote_key}'}}}}"
    return write_tree(tmp_path, {"naftiko.fleet.yaml": fleet_yaml(extra=security), "hello.ikanos.yml": spec})


@pytest.mark.parametrize(
    ("provider", "remote_key", "keys", "message"),
    [
        (
            "azure-key-vault",
            "naftiko/{environment}/ünïcode",
            "{API_TOKEN: api-token}",
            "not a valid azure-key-vault secret name",
        ),
        ("doppler", "9lives", "{API_TOKEN: api-token}", "not a valid doppler secret name"),
        ("doppler", "{capability}", "{A: api-key, B: API_KEY}", "map to the same doppler secret"),
        ("vault", "naftiko/{region}/{capability}", "{API_TOKEN: api-token}", "unknown placeholder {region}"),
        (
            "aws-secrets-manager",
            "naftiko/{capability} with spaces",
            "{API_TOKEN: api-token}",
            "not a valid aws-secrets-manager",
        ),
    ],
)
def test_impossible_remote_keys_are_render_errors(
    tmp_path: Path, provider: str, remote_key: str, keys: str, message: str
) -> None:
    with pytest.raises(ValidationError) as err:
        render(_provider_fleet(tmp_path, provider, remote_key, keys))
    found = [str(d) for d in err.value.diagnostics]
    assert any(message in d and "security.secrets.remoteKey" in d for d in found), found


def test_plain_secrets_in_the_manifest_are_refused(tmp_path: Path) -> None:
    capabilities = "hello: {spec: hello.ikanos.yml, env: {DB_PASSWORD: hunter2, LOG_LEVEL: info}}"
    write_tree(tmp_path, {"naftiko.fleet.yaml": fleet_yaml(capabilities), "hello.ikanos.yml": MINIMAL_SPEC})
    with pytest.raises(ValidationError) as err:
        render(tmp_path)
    (message,) = [str(d) for d in err.value.diagnostics]
    assert "capabilities.hello.env.DB_PASSWORD: env DB_PASSWORD looks like a secret" in message
    assert "hunter2" not in message
    allowed = fleet_yaml(capabilities, extra="security: {allowPlainEnv: [DB_PASSWORD]}")
    write_tree(tmp_path, {"naftiko.fleet.yaml": allowed})
    assert any("listed in security.allowPlainEnv" in w.message for w in render(tmp_path).warnings)


def test_literal_credentials_in_a_spec_are_lint_findings(tmp_path: Path) -> None:
    spec = MINIMAL_SPEC.replace(
        "capability:\n",
        "capability:\n  consumes:\n    - {namespace: api, type: http, baseUri: 'https://x', "
        "authentication: {type: bearer, token: s3cr3t}}\n",
    )
    write_tree(tmp_path, {"naftiko.fleet.yaml": fleet_yaml(), "hello.ikanos.yml": spec})
    warnings = [str(w) for w in render(tmp_path).warnings if "literal credential" in w.message]
    assert warnings == [
        "hello.ikanos.yml:5:89: capability.consumes[0].authentication.token: warning: a literal credential in "
        "authentication.token: reference a bind instead ({{VARIABLE}})"
    ]
    with pytest.raises(ValidationError, match="literal credential"):
        render(tmp_path, strict=True)


def test_certificates_say_what_they_do_and_keep_common_names_short(tmp_path: Path) -> None:
    result = render(SECURE, "prod")
    assert any("it does not encrypt the capability's exposes" in w.message for w in result.warnings)
    for certificate in (o for o in result.objects if o["kind"] == "Certificate"):
        assert len(certificate["spec"].get("commonName", "")) <= 64
