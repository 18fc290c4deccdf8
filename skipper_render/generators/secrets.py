"""External Secrets (SPEC 2.6): every Secret a pod needs, when the provider is not `kubernetes`.

With `security.secrets.provider` other than `kubernetes`, each Secret a workload mounts or reads
is produced by an External Secrets `ExternalSecret` (external-secrets.io/v1) of the same name:
the bind Secrets of each capability (a file bind's Secret templated back into the YAML file the
engine reads; a location-less bind's Secret with one key per variable), the MCP gateway's bearer
token Secrets, and the Wardens' audit token. No secret value is ever rendered.

Remote references follow what each ESO provider accepts (external-secrets v2.9
`providers/v1/{vault,aws,azure/keyvault,doppler}`), from `security.secrets.remoteKey` (or a bind's
`binds.<namespace>.remoteKey`) with `{environment}`, `{capability}` and `{namespace}` filled in:
- vault: `key` = the rendered path (relative to the store's mount), `property` = the value's name;
- aws-secrets-manager: `key` = the secret name (A-Z a-z 0-9 / _ + = . @ -, at most 512),
  `property` = the value's name (a key of the JSON secret);
- azure-key-vault: object names are [0-9A-Za-z-] only (ESO splits a key on `/` for the object
  type), so `key` = `secret/<the rendered path with / _ . as ->`, `property` = the value's name;
- doppler: a secret is one value named in UPPER_SNAKE and `property` is ignored, so each value is
  its own secret: `key` = UPPER_SNAKE of `<rendered path>_<value name>`, no `property`.
A template that cannot give a valid name for the provider is a render error.
"""

from __future__ import annotations

import re
from typing import Any

from skipper_render import names
from skipper_render.errors import Where
from skipper_render.generators import binds, warden
from skipper_render.generators.base import Context, Obj
from skipper_render.generators.mcp_gateway import targets, token_secret
from skipper_render.resolve import ResolvedCapability

ESO = "external-secrets.io/v1"
PLACEHOLDERS = ("environment", "capability", "namespace")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_NAMES = {
    "vault": (re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*"), "path segments of A-Z a-z 0-9 . _ -"),
    "aws-secrets-manager": (re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}"), "A-Z a-z 0-9 / _ + = . @ -, at most 512"),
    "azure-key-vault": (re.compile(r"[0-9A-Za-z-]{1,127}"), "0-9 A-Z a-z and -, at most 127"),
    "doppler": (re.compile(r"[A-Z_][A-Z0-9_]*"), "UPPER_SNAKE, not starting with a digit"),
}


def provider(ctx: Context) -> str | None:
    """The External Secrets provider, or None when Secrets are expected to exist (`kubernetes`)."""
    secrets = ctx.fleet.spec.security.secrets
    return None if secrets.provider == "kubernetes" else secrets.provider


def remote_ref(ctx: Context, template: str, where: Where, values: dict[str, str], name: str) -> dict[str, Any] | None:
    """The `remoteRef` of value `name` under `template` for the fleet's provider (None: reported)."""
    unknown = sorted({m for m in _PLACEHOLDER.findall(template) if m not in PLACEHOLDERS})
    if unknown:
        ctx.diags.error(
            where,
            f"remoteKey has unknown placeholder {{{unknown[0]}}} "
            "(known: {environment}, {capability}, {namespace})",
        )
        return None
    rendered = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    kind = provider(ctx) or "vault"
    if kind == "azure-key-vault":
        object_name = re.sub(r"[/_.]+", "-", rendered).strip("-")
        ref: dict[str, Any] = {"key": f"secret/{object_name}", "property": name}
        checked = object_name
    elif kind == "doppler":
        checked = re.sub(r"[^A-Za-z0-9]+", "_", f"{rendered}_{name}").strip("_").upper()
        ref = {"key": checked}
    else:
        ref = {"key": rendered, "property": name}
        checked = rendered
    pattern, rule = _NAMES[kind]
    if not pattern.fullmatch(checked):
        ctx.diags.error(where, f"remoteKey gives {checked[:80]!r}, not a valid {kind} secret name ({rule})")
        return None
    return ref


def external_secret(
    name: str, metadata: dict[str, Any], data: list[dict[str, Any]], template: dict[str, str] | None, ctx: Context
) -> Obj:
    secrets = ctx.fleet.spec.security.secrets
    store = secrets.store
    target: dict[str, Any] = {"name": name, "creationPolicy": "Owner", "deletionPolicy": "Retain"}
    if template:
        target["template"] = {"engineVersion": "v2", "data": template}
    spec = {
        "refreshInterval": secrets.refreshInterval,
        "secretStoreRef": {"kind": store.kind, "name": store.name} if store else None,
        "target": target,
        "data": data,
    }
    return {"apiVersion": ESO, "kind": "ExternalSecret", "metadata": {**metadata, "name": name}, "spec": spec}


def _store_ready(ctx: Context, where: Where) -> bool:
    if provider(ctx) is None:
        return False
    if ctx.fleet.spec.security.secrets.store is None:
        ctx.diags.error(where, f"secrets provider {provider(ctx)!r} needs security.secrets.store")
        return False
    return True


def _entries(
    ctx: Context, template: str, where: Where, values: dict[str, str], keys: list[str]
) -> list[dict[str, Any]]:
    """`data` entries for secret keys `keys`, each read from the remote value of the same name."""
    out = []
    seen: dict[str, str] = {}
    for key in sorted(set(keys)):
        if not _SECRET_KEY.fullmatch(key):
            ctx.diags.error(where, f"{key[:60]!r} cannot be a Secret key (allowed: A-Z a-z 0-9 - _ .)")
            continue
        ref = remote_ref(ctx, template, where, values, key)
        if ref is None:
            continue
        other = seen.get(str(ref))
        if other is not None:
            ctx.diags.error(
                where, f"values {other!r} and {key!r} map to the same {provider(ctx)} secret {ref['key']!r}"
            )
            continue
        seen[str(ref)] = key
        out.append({"secretKey": key, "remoteRef": ref})
    return out


def _template_for(cap: ResolvedCapability, ctx: Context, namespace: str) -> tuple[str, Where]:
    override = cap.binds.get(namespace)
    if override and override.remoteKey:
        return override.remoteKey, ctx.fleet.at(("capabilities", cap.name, "binds", namespace, "remoteKey"))
    return ctx.fleet.spec.security.secrets.remoteKey, ctx.fleet.at(("security", "secrets", "remoteKey"))


def capability(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    """The ExternalSecrets of a capability's bind Secrets."""
    if not _store_ready(ctx, cap.where):
        return []
    plan = binds.plan(cap, ctx.diags)
    meta = names.metadata(cap.name, cap, ctx.fleet)
    out: list[Obj] = []
    for group in plan.files:
        data: list[dict[str, Any]] = []
        template: dict[str, str] = {}
        for key, readers in sorted(group.files.items()):
            values: set[str] = set()
            for bind in readers:  # binds sharing a file share its root keys
                remote, where = _template_for(cap, ctx, bind.namespace)
                fill = {"environment": ctx.fleet.environment, "capability": cap.name, "namespace": bind.namespace}
                new = sorted({v for _, v in bind.keys} - values)
                data += _entries(ctx, remote, where, fill, new)
                values |= set(new)
            # JSON-quoted keys: a bind key like `on` or `123` stays a string key in the engine's YAML
            lines = [f'{json_key(v)}: {{{{ index . "{v}" | toJson }}}}' for v in sorted(values)]
            template[key] = "\n".join(lines) + "\n"
        out.append(external_secret(group.secret, meta, _unique(data), template, ctx))
    for env in plan.env:
        remote, where = _template_for(cap, ctx, env.bind.namespace)
        fill = {"environment": ctx.fleet.environment, "capability": cap.name, "namespace": env.bind.namespace}
        out.append(
            external_secret(env.secret, meta, _entries(ctx, remote, where, fill, list(env.variables)), None, ctx)
        )
    return out


def json_key(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unique(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in data:
        seen.setdefault(item["secretKey"], item)
    return list(seen.values())


def fleet(ctx: Context) -> list[Obj]:
    """The ExternalSecrets of the fleet-level Secrets: the MCP gateway's bearer tokens and the
    Wardens' audit token."""
    where = ctx.fleet.at(("security", "secrets"))
    if provider(ctx) is None:
        return []
    wanted: list[tuple[str, dict[str, str], str]] = []  # (Secret, placeholders, value name)
    gateway = ctx.fleet.spec.routing.mcpGateway
    if gateway is not None and gateway.enabled:
        for target in targets(ctx):
            if target.token is not None and target.token[0] == token_secret(ctx, target.expose):
                fill = {
                    "environment": ctx.fleet.environment,
                    "capability": target.capability.name,
                    "namespace": target.name,
                }
                wanted.append((target.token[0], fill, "mcp-gateway-token"))
    settings = warden.settings(ctx)
    logs = settings.decisionLogs if settings else None
    if logs is not None and logs.auth == "bearer":
        fill = {"environment": ctx.fleet.environment, "capability": "warden-audit", "namespace": "audit"}
        wanted.append((warden.audit_secret(ctx.fleet.name), fill, "token"))
    if not wanted or not _store_ready(ctx, where):
        return []
    out = []
    template = ctx.fleet.spec.security.secrets.remoteKey
    for secret, fill, value in wanted:
        ref = remote_ref(ctx, template, ctx.fleet.at(("security", "secrets", "remoteKey")), fill, value)
        if ref is None:
            continue
        meta = names.fleet_meta(ctx.fleet, secret, "secrets")
        out.append(external_secret(secret, meta, [{"secretKey": "token", "remoteRef": ref}], None, ctx))
    return out
