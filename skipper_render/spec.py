"""Read one capability spec and its imports into a normalised `CapabilitySpec`.

Real specs are messy, so schema-level problems (unknown expose types, missing descriptions,
legacy fields, unknown versions) are warnings, and become errors only in strict mode. What the
renderer cannot work without is always an error: a missing port, two exposes on one port, a
second control expose, a missing import file.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from skipper_render import parallel
from skipper_render.errors import Collector, Diagnostic, Path, SkipperError, Where, shorten
from skipper_render.load import Document, FleetDir
from skipper_render.model.common import dns_part, is_dns_label
from skipper_render.model.ikanos import (
    EXPOSE_TYPES,
    IKANOS_VERSIONS,
    NAFTIKO_VERSIONS,
    Bind,
    CapabilitySpec,
    Consume,
    Dialect,
    Expose,
    ExposeType,
    Import,
    SpecFile,
    port_names,
)

_LEGACY_TYPES: dict[str, ExposeType] = {"api": "rest"}
_SECTIONS = ("consumes", "exposes", "aggregates", "binds")


Read = tuple[CapabilitySpec | None, tuple[Diagnostic, ...], SkipperError | None]  # a spec read, replayable


class SpecCache:
    """Capability specs read once for several renders of one fleet (every environment and cluster
    of `render --all-envs`): each spec with the diagnostics reading it produced, replayed per render."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, bool, bool], Read] = {}


class SpecReader:
    """Parses one capability bundle; diagnostics go to the shared collector."""

    def __init__(
        self, fleet: FleetDir, diags: Collector, strict: bool, schema_lint: bool = False, cache: SpecCache | None = None
    ) -> None:
        self.fleet = fleet
        self.diags = diags
        self.strict = strict
        self.schema_lint = schema_lint or strict
        self.cache = cache
        # Specs read ahead (`prefetch`): path -> (where the capability it was read for names it, the read)
        self.ready: dict[str, tuple[Where, Read]] = {}

    def read(self, rel: str, where: Where) -> CapabilitySpec | None:
        """The spec at fleet-relative `rel` (from the cache when one is shared, or read ahead)."""
        if self.cache is None and not self.ready:
            return self.parse(rel, where)
        key = self._key(rel)
        found = self.cache.entries.get(key) if self.cache is not None else None
        if found is None:
            ahead = self.ready.get(rel)
            if ahead is not None and ahead[0] == where:  # read for this capability, located at its entry
                del self.ready[rel]
                found = ahead[1]
            else:
                found = self.read_apart(rel, where)
            if self.cache is not None:
                self.cache.entries[key] = found
        spec, diagnostics, error = found
        self.diags.extend(diagnostics)
        if error is not None:
            raise error
        return spec

    def _key(self, rel: str) -> tuple[str, str, bool, bool]:
        return str(self.fleet.root), rel, self.strict, self.schema_lint

    def read_apart(self, rel: str, where: Where) -> Read:
        """Parse `rel`, keeping what it reports (its diagnostics, its error) to replay."""
        shared, self.diags = self.diags, Collector()
        try:
            try:
                spec, error = self.parse(rel, where), None
            except SkipperError as exc:
                spec, error = None, exc
            return spec, tuple(self.diags.items), error
        finally:
            self.diags = shared

    def prefetch(self, wanted: Sequence[tuple[str, Where]], jobs: int) -> None:
        """Read the specs `wanted` (path, where the manifest names it) ahead, shards of them in
        worker processes (see `parallel`); each `read` of one then replays it as if it parsed it."""
        if self.cache is not None:  # another render of the fleet (--all-envs) may have read them
            wanted = [w for w in wanted if self._key(w[0]) not in self.cache.entries]
        if parallel.workers(jobs, len(wanted)) < 2:
            return
        first: dict[str, Where] = {}
        for rel, where in wanted:
            first.setdefault(rel, where)
        for shard in parallel.map_shards(self._read_shard, wanted, jobs):
            for rel, found in shard.items():  # the shard that holds a path's first capability reads it for it
                if rel not in self.ready:
                    self.ready[rel] = (first[rel], found)

    def _read_shard(self, wanted: Sequence[tuple[str, Where]]) -> dict[str, Read]:
        found: dict[str, Read] = {}
        for rel, where in wanted:
            if rel in found:  # a spec two capabilities share: the second `read` parses it again
                continue
            try:
                found[rel] = self.read_apart(rel, where)
            except Exception:  # not read ahead: `read` meets it again, in its place
                continue
        return found

    def lint(self, where: Where, message: str) -> None:
        """A spec-schema problem: a warning, or an error under --strict."""
        if self.strict:
            self.diags.error(where, message)
        else:
            self.diags.warn(where, message)

    def parse(self, rel: str, where: Where) -> CapabilitySpec | None:
        doc = self.fleet.load(rel, where)
        data = doc.data
        if not isinstance(data, dict):
            self.diags.error(doc.at(()), "a capability spec must be a mapping")
            return None
        dialect, version = self.version(doc)
        if dialect is None:
            return None
        if self.schema_lint:
            from skipper_render.lint import lint

            for path, message in lint(doc, dialect, version):
                self.lint(doc.at(path), message)
        for path, field in literal_credentials(data) if _may_hold_credentials(doc.text) else ():
            self.lint(doc.at(path), f"a literal credential in {field}: reference a bind instead ({{{{VARIABLE}}}})")
        capability = data.get("capability")
        if not isinstance(capability, dict):
            self.diags.error(doc.at(()), "no 'capability' section: a standalone section file cannot be deployed")
            return None
        base = posixpath.dirname(rel)
        files = [SpecFile(rel, doc.text)]
        imports: list[Import] = []
        exposes: list[Expose] = []
        consumes: list[Consume] = []
        binds: list[Bind] = []
        for section in _SECTIONS:
            for path, entry in _entries(data, capability, section):
                if not isinstance(entry, dict):
                    self.diags.error(doc.at(path), f"{section} entries must be mappings")
                    continue
                if "from" in entry or ("location" in entry and "import" in entry):
                    found = self.imported(doc, path, entry, section, base, imports, files)
                    if found is None:
                        continue
                    body, where_doc, where_path = found
                else:
                    body, where_doc, where_path = entry, doc, path
                if section == "exposes":
                    expose = self.expose(where_doc, where_path, body)
                    if expose is not None:
                        exposes.append(expose)
                elif section == "consumes":
                    consumes.append(self.consume(where_doc, where_path, body))
                elif section == "binds":
                    bind = self.bind(where_doc, where_path, body)
                    if bind is not None:
                        binds.append(bind)
        self.check_exposes(exposes)
        info: dict[str, Any] = data["info"] if isinstance(data.get("info"), dict) else {}
        display = info.get("display") or info.get("label")
        if dialect == "ikanos" and "label" in info:
            self.lint(doc.at(("info", "label")), "'info.label' is the naftiko name; ikanos uses 'info.display'")
        labels: dict[str, Any] = info["labels"] if isinstance(info.get("labels"), dict) else {}
        return CapabilitySpec(
            dialect=dialect,
            version=version,
            display=None if display is None else str(display),
            description=None if info.get("description") is None else str(info.get("description")),
            labels={str(k): str(v) for k, v in labels.items()},
            exposes=tuple(exposes),
            ports=port_names(tuple(exposes)),
            consumes=tuple(consumes),
            binds=tuple(binds),
            imports=tuple(imports),
            files=tuple(files),
        )

    def version(self, doc: Document) -> tuple[Dialect | None, str]:
        for dialect, known in (("ikanos", IKANOS_VERSIONS), ("naftiko", NAFTIKO_VERSIONS)):
            if dialect in doc.data:
                version = str(doc.data[dialect])
                if version not in known:
                    self.lint(
                        doc.at((dialect,)),
                        f"unknown {dialect} spec version {version!r} (known: {', '.join(known)})",
                    )
                return dialect, version  # type: ignore[return-value]
        self.diags.error(doc.at(()), "not a capability spec: no 'ikanos:' (or legacy 'naftiko:') version key")
        return None, ""

    def imported(
        self,
        doc: Document,
        path: Path,
        entry: dict[str, Any],
        section: str,
        base: str,
        imports: list[Import],
        files: list[SpecFile],
    ) -> tuple[dict[str, Any], Document, Path] | None:
        """Resolve an import entry: read the file, find the imported namespace, record the import."""
        ref = entry.get("from", entry.get("location"))
        name = entry.get("import")
        where = doc.at((*path, "from" if "from" in entry else "location"))
        if "from" not in entry:
            self.lint(where, "'location' on an import is the legacy form; ikanos uses 'from'")
        if not isinstance(ref, str) or not isinstance(name, str):
            self.diags.error(doc.at(path), "an import needs string 'import' and 'from' fields")
            return None
        if not is_dns_label(name, 63):
            self.lint(
                doc.at((*path, "import")),
                f"import name {name!r} is not a DNS-1123 label; its ConfigMap is named after {dns_part(name)!r}",
            )
        rel = self.fleet.resolve(ref, where, base)
        mount = posixpath.normpath(posixpath.join("/data", ref))
        if not mount.startswith("/data/"):
            self.diags.error(where, f"import {shorten(ref, 60)!r} resolves to {mount} in the pod, outside /data")
            return None
        if mount == "/data/capability.yaml":
            self.diags.error(where, "an import may not be mounted over the spec itself (/data/capability.yaml)")
            return None
        if not self.fleet.exists(rel):
            self.diags.error(where, f"imported file not found: {rel}")
            return None
        imported = self.fleet.load(rel, where)
        if all(f.path != rel for f in files):
            files.append(SpecFile(rel, imported.text))
        alias = entry.get("as") if isinstance(entry.get("as"), str) else None
        imports.append(Import(section, name, alias, rel, mount, doc.at(path)))
        data = imported.data if isinstance(imported.data, dict) else {}
        for index, item in enumerate(_as_list(data.get(section))):
            if isinstance(item, dict) and item.get("namespace") == name:
                found = dict(item)
                if alias:
                    found["namespace"] = alias
                return found, imported, (section, index)
        self.lint(where, f"{rel} declares no {section} entry with namespace {name!r}")
        return None

    def expose(self, doc: Document, path: Path, entry: dict[str, Any]) -> Expose | None:
        raw_type = str(entry.get("type", ""))
        kind = _LEGACY_TYPES.get(raw_type, raw_type)
        if kind not in EXPOSE_TYPES:
            self.lint(
                doc.at((*path, "type")),
                f"unknown expose type {raw_type!r} (known: rest, mcp, skill, control)",
            )
            return None
        if raw_type in _LEGACY_TYPES:
            self.lint(doc.at((*path, "type")), f"expose type {raw_type!r} is the naftiko 0.4 name of {kind!r}")
        namespace = entry.get("namespace")
        if kind != "control" and not isinstance(namespace, str):
            self.lint(doc.at(path), f"{kind} expose has no 'namespace'")
        transport: Literal["http", "stdio"] = "stdio" if kind == "mcp" and entry.get("transport") == "stdio" else "http"
        port = entry.get("port")
        if transport == "stdio":
            if port is not None:
                self.lint(doc.at((*path, "port")), "a stdio MCP expose takes no port")
            port = None
        elif isinstance(port, bool) or not isinstance(port, int):
            self.diags.error(doc.at(path), f"{kind} expose needs a 'port' (integer 1-65535)")
            return None
        elif not 1 <= port <= 65535:
            self.diags.error(doc.at((*path, "port")), f"port {port} is outside 1-65535")
            return None
        address = entry.get("address")
        tags = entry.get("tags")
        traces = _dig(entry, "observability", "traces")
        sampling = traces.get("sampling") if isinstance(traces, dict) else None
        return Expose(
            type=kind,
            namespace=namespace if isinstance(namespace, str) else None,
            port=port,
            address=None if address is None else str(address),
            transport=transport,
            tools=_names(entry.get("tools")),
            resource_paths=_resource_paths(entry.get("resources")),
            auth=_auth_type(entry.get("authentication")),
            token_ref=_token_ref(entry.get("authentication")),
            where=doc.at(path),
            tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
            lifecycle=str(entry["lifecycle"]) if "lifecycle" in entry else None,
            sampling=float(sampling) if isinstance(sampling, int | float) and not isinstance(sampling, bool) else None,
            propagation=str(traces["propagation"]) if isinstance(traces, dict) and "propagation" in traces else None,
        )

    def consume(self, doc: Document, path: Path, entry: dict[str, Any]) -> Consume:
        namespace = entry.get("namespace")
        if not isinstance(namespace, str):
            self.lint(doc.at(path), "consumes entry has no 'namespace'")
        base_uri = entry.get("baseUri")
        if isinstance(base_uri, str) and "{" in base_uri:
            self.lint(doc.at((*path, "baseUri")), f"baseUri {base_uri!r} contains a template; it must be a URL")
        return Consume(str(namespace or ""), base_uri if isinstance(base_uri, str) else None, doc.at(path))

    def bind(self, doc: Document, path: Path, entry: dict[str, Any]) -> Bind | None:
        namespace, keys, location = entry.get("namespace"), entry.get("keys"), entry.get("location")
        if not isinstance(namespace, str) or not isinstance(keys, dict):
            self.lint(doc.at(path), "a bind needs a 'namespace' and a 'keys' mapping")
            return None
        if location is not None and not isinstance(location, str):
            self.diags.error(doc.at((*path, "location")), "bind 'location' must be a URI string")
            return None
        pairs = tuple(sorted((str(k), str(v)) for k, v in keys.items()))
        return Bind(namespace, location, pairs, doc.at(path))

    def check_exposes(self, exposes: Iterable[Expose]) -> None:
        by_port: dict[int, Expose] = {}
        control: Expose | None = None
        for expose in exposes:
            if expose.type == "control":
                if control is not None:
                    self.diags.error(
                        expose.where,
                        f"a second control expose (the first is at {control.where}); at most one",
                    )
                control = control or expose
            if expose.port is None:
                continue
            other = by_port.get(expose.port)
            if other is not None:
                self.diags.error(
                    expose.where, f"port {expose.port} is used by two exposes (the other is at {other.where})"
                )
            by_port.setdefault(expose.port, expose)


_CREDENTIAL_FIELDS = ("token", "password", "secret", "clientSecret", "apiKey", "key", "value")
_SECRET_HEADER = re.compile(r"key|token|secret|password|authorization", re.IGNORECASE)
_VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*")


def _literal(value: Any) -> bool:
    """A fixed credential: not a `{{VARIABLE}}` reference, nor a legacy bare VARIABLE name."""
    return isinstance(value, str) and bool(value) and "{{" not in value and not _VARIABLE.fullmatch(value)


def _may_hold_credentials(text: str) -> bool:
    """Whether `literal_credentials` can find anything: its keys appear in the text as written
    (a double-quoted key could spell them with escapes, so a backslash counts too)."""
    return "authentication" in text or "inputParameters" in text or "\\" in text


def literal_credentials(data: Any, path: Path = ()) -> list[tuple[Path, str]]:
    """Credentials written into a spec (not `{{VARIABLE}}` references to binds): `authentication`
    fields, and header parameters named like secrets with a fixed value. The value is never quoted."""
    found: list[tuple[Path, str]] = []
    stack: list[tuple[Any, Path]] = [(data, path)]
    while stack:  # iterative, and only containers are visited: specs are mostly scalars
        node, at = stack.pop()
        if type(node) is list:
            stack += [(item, (*at, i)) for i, item in enumerate(node) if type(item) is dict or type(item) is list]
            continue
        if type(node) is not dict:
            continue
        auth = node.get("authentication")
        if type(auth) is dict:
            for field in _CREDENTIAL_FIELDS:
                if field == "key" and auth.get("type") == "apikey":
                    continue  # the header's name, not its value
                if _literal(auth.get(field)):
                    found.append(((*at, "authentication", field), f"authentication.{field}"))
        params = node.get("inputParameters")
        if type(params) is dict:
            for name, param in params.items():
                value = param.get("value") if isinstance(param, dict) else None
                in_header = isinstance(param, dict) and param.get("in") == "header"
                if in_header and _SECRET_HEADER.search(str(name)) and _literal(value):
                    found.append(((*at, "inputParameters", name, "value"), f"header {name}"))
        stack += [(item, (*at, key)) for key, item in node.items() if type(item) is dict or type(item) is list]
    return sorted(set(found))


def _entries(data: dict[str, Any], capability: dict[str, Any], section: str) -> list[tuple[Path, Any]]:
    """The entries of one section with their paths; binds also come from the root and `externalRefs`."""
    out: list[tuple[Path, Any]] = [
        (("capability", section, i), e) for i, e in enumerate(_as_list(capability.get(section)))
    ]
    if section == "binds":
        out = [(("binds", i), e) for i, e in enumerate(_as_list(data.get("binds")))] + out
        refs = _as_list(data.get("externalRefs"))
        out += [(("externalRefs", i), _external_ref(e)) for i, e in enumerate(refs) if isinstance(e, dict)]
    return out


def _dig(block: Any, *keys: str) -> Any:
    for key in keys:
        block = block.get(key) if isinstance(block, dict) else None
    return block


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _names(block: Any) -> tuple[str, ...]:
    """Tool (or resource) names from the ikanos map form or the naftiko list-with-`name` form."""
    if isinstance(block, dict):
        return tuple(str(k) for k in block)
    if isinstance(block, list):
        return tuple(str(item["name"]) for item in block if isinstance(item, dict) and "name" in item)
    return ()


def _resource_paths(block: Any) -> tuple[str, ...]:
    items = block.values() if isinstance(block, dict) else block if isinstance(block, list) else []
    return tuple(str(item["path"]) for item in items if isinstance(item, dict) and isinstance(item.get("path"), str))


def _token_ref(block: Any) -> str | None:
    token = block.get("token") if isinstance(block, dict) else None
    match = re.fullmatch(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", token) if isinstance(token, str) else None
    return match.group(1) if match else None


def _auth_type(block: Any) -> str | None:
    return str(block.get("type")) if isinstance(block, dict) and block.get("type") else None


def _external_ref(entry: dict[str, Any]) -> dict[str, Any]:
    """naftiko 0.4/0.5 `externalRefs` (runtime variables) are location-less binds."""
    return {"namespace": entry.get("name"), "keys": entry.get("keys"), "location": entry.get("location")}
