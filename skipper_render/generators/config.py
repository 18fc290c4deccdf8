"""Spec and import ConfigMaps: the capability bundle as the engine reads it under /data."""

from __future__ import annotations

import posixpath
from typing import NamedTuple

from skipper_render import names
from skipper_render.generators.base import Context, Obj
from skipper_render.model.ikanos import Import
from skipper_render.resolve import ResolvedCapability

CONFIGMAP_LIMIT = 1024 * 1024  # the API server refuses larger ConfigMaps


class ImportMount(NamedTuple):
    configmap: str
    key: str
    mount: str
    file: str
    imp: Import


def import_mounts(cap: ResolvedCapability) -> list[ImportMount]:
    """One ConfigMap per imported file, named by the first import that reads it."""
    out: dict[str, ImportMount] = {}
    for imp in cap.spec.imports:
        if imp.file not in out:
            key = names.configmap_key(posixpath.basename(imp.file))
            out[imp.file] = ImportMount(names.import_configmap(cap.name, imp.name), key, imp.mount, imp.file, imp)
    return list(out.values())


def generate(cap: ResolvedCapability, ctx: Context) -> list[Obj]:
    texts = {f.path: f.text for f in cap.spec.files}
    wanted = [(names.spec_configmap(cap.name), names.SPEC_KEY, cap.spec.main.path)]
    wanted += [(m.configmap, m.key, m.file) for m in import_mounts(cap)]
    objects = []
    for name, key, path in wanted:
        size = len(texts[path].encode())
        if size > CONFIGMAP_LIMIT:
            ctx.diags.error(cap.where, f"{path} is {size} bytes; a ConfigMap holds at most {CONFIGMAP_LIMIT}")
        objects.append(_configmap(name, key, texts[path], cap, ctx))
    return objects


def _configmap(name: str, key: str, text: str, cap: ResolvedCapability, ctx: Context) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": names.metadata(name, cap, ctx.fleet),
        "data": {key: text},
    }
