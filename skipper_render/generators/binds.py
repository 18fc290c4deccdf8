"""Plan how a capability's binds reach the engine, as the Skipper operator expects them.

- A bind with a `file://` location is a file the engine reads relative to its working dir `/app`:
  Secret `{cap}-bind-{parent dir}` with key = the file name, mounted at that dir. Binds that share a
  dir share one Secret (one key per file). A file directly in `/app` is mounted by `subPath`, since
  mounting a volume over `/app` would hide the engine jar.
- A bind without `location` is read from environment variables named by the *values* of its `keys`:
  env vars from Secret `{cap}-bind-{namespace}`.
- Other schemes (`vault://`, `k8s-secret://`, ...) are resolved by the engine itself: a warning.
The Secrets are expected to exist (or to come from External Secrets); no value is ever rendered.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from skipper_render import names
from skipper_render.errors import Collector
from skipper_render.model.ikanos import Bind
from skipper_render.resolve import ResolvedCapability

_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


@dataclass
class SecretFiles:
    """One bind Secret holding files, mounted at `directory`."""

    secret: str
    directory: str
    files: dict[str, list[Bind]] = field(default_factory=dict)  # key (file name) -> the binds reading it


@dataclass
class SecretEnv:
    """One bind Secret whose keys become environment variables of the same name."""

    secret: str
    bind: Bind
    variables: tuple[str, ...]


@dataclass
class BindPlan:
    files: list[SecretFiles] = field(default_factory=list)
    env: list[SecretEnv] = field(default_factory=list)


def file_path(location: str) -> str | None:
    """The absolute path in the container of a `file://` location, or None for other schemes."""
    if not location.startswith("file:"):
        return None
    rest = location[len("file:") :].lstrip("/") if location.startswith("file:///") else location[len("file://") :]
    if location.startswith("file:///") and not rest.startswith("./"):
        return posixpath.normpath("/" + rest)
    return posixpath.normpath(posixpath.join(names.ENGINE_WORKDIR, rest))


def plan(cap: ResolvedCapability, diags: Collector) -> BindPlan:
    result = BindPlan()
    by_dir: dict[str, SecretFiles] = {}
    for bind in cap.spec.binds:
        override = cap.binds.get(bind.namespace)
        if bind.location is None:
            secret = (override and override.secretName) or names.bind_secret(cap.name, bind.namespace)
            result.env.append(SecretEnv(secret, bind, tuple(sorted({v for _, v in bind.keys}))))
            continue
        path = file_path(bind.location)
        if path is None:
            scheme = bind.location.split(":", 1)[0]
            diags.warn(
                bind.where,
                f"bind location scheme '{scheme}://' is resolved by the engine; no Secret is mounted",
            )
            continue
        directory, key = posixpath.split(path)
        if not _SECRET_KEY.fullmatch(key):
            diags.error(bind.where, f"bind file name {key!r} cannot be a Secret key (allowed: a-z A-Z 0-9 - _ .)")
            continue
        group = by_dir.get(directory)
        if group is None:
            part = posixpath.basename(directory) or "root"
            group = by_dir[directory] = SecretFiles(names.bind_secret(cap.name, part), directory)
        group.files.setdefault(key, []).append(bind)
    for group in by_dir.values():  # binds sharing a dir share a Secret: any one of them may name it
        readers = [b for found in group.files.values() for b in found]
        chosen = sorted({o.secretName for b in readers if (o := cap.binds.get(b.namespace)) and o.secretName})
        if len(chosen) > 1:
            diags.error(
                cap.where,
                f"binds in {group.directory} share one Secret but their binds.<namespace>.secretName differ "
                f"({', '.join(chosen)}); name it once",
            )
        if chosen:
            group.secret = chosen[0]
    known = {b.namespace for b in cap.spec.binds}
    for namespace in sorted(set(cap.binds) - known):
        diags.error(cap.where, f"binds.{namespace}: the spec has no bind with namespace {namespace!r}")
    result.files = sorted(by_dir.values(), key=lambda g: g.directory)
    seen: dict[str, str] = {}
    for group in result.files:
        if group.secret in seen:
            diags.error(
                cap.where,
                f"bind dirs {seen[group.secret]} and {group.directory} both map to Secret {group.secret!r}; "
                "set binds.<namespace>.secretName for one of them",
            )
        seen[group.secret] = group.directory
    return result
