"""Environment overlays: fleet `spec` + RFC 7386 `merge` + RFC 6902 `patches` -> effective spec.

Pure: inputs are never mutated; the result is new data plus a `SourceMap` that remembers which
file and line produced every path, so a validation error in the effective fleet points at the
fleet manifest line or at the overlay line that set the value. Pins are applied in `resolve`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from skipper_render.errors import Collector, Location, Path, ValidationError
from skipper_render.load import Document


@dataclass
class SourceMap:
    """Path -> (write sequence, location). The latest write on any prefix of a path wins."""

    entries: dict[Path, tuple[int, Location]] = field(default_factory=dict)
    fallback: Location = field(default_factory=Location)

    def record(self, doc: Document, prefix: Path, rebase: Path, seq: int) -> None:
        """Record every position of `doc` under `prefix`, re-rooted at `rebase`."""
        size = len(prefix)
        for path, (line, col) in doc.positions.items():
            if path[:size] == prefix:
                self.entries[rebase + path[size:]] = (seq, Location(doc.file, line, col))

    def set(self, path: Path, seq: int, where: Location) -> None:
        self.entries[path] = (seq, where)

    def loc(self, path: Path) -> Location:
        best: tuple[int, int, Location] | None = None
        for depth in range(len(path), -1, -1):
            hit = self.entries.get(path[:depth])
            if hit is not None and (best is None or hit[0] > best[0]):
                best = (hit[0], depth, hit[1])
        where = best[2] if best else self.fallback
        return Location(where.file, where.line, where.col, path)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; returns new data, `null` deletes a key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _record_merge(smap: SourceMap, env: Document, target: Any, patch: Any, path: Path, seq: int) -> None:
    """Source positions for a merge: a key whose value replaces the target's is recorded whole."""
    for key, value in patch.items():
        sub = (*path, key)
        existing = target.get(key) if isinstance(target, dict) else None
        if isinstance(value, dict) and isinstance(existing, dict):
            _record_merge(smap, env, existing, value, sub, seq)
        else:
            smap.record(env, ("spec", "merge", *sub), sub, seq)


def apply_overlay(fleet: Document, env: Document | None) -> tuple[dict[str, Any], SourceMap]:
    """The effective fleet `spec` for one environment, with its source map."""
    base = fleet.data.get("spec") if isinstance(fleet.data, dict) else None
    spec: dict[str, Any] = copy.deepcopy(base) if isinstance(base, dict) else {}
    smap = SourceMap(fallback=fleet.loc(("spec",)))
    smap.record(fleet, ("spec",), (), 0)
    if env is None or not isinstance(env.data, dict) or not isinstance(env.data.get("spec"), dict):
        return spec, smap
    overlay = env.data["spec"]
    merge = overlay.get("merge")
    if isinstance(merge, dict):
        _record_merge(smap, env, spec, merge, (), 1)
        spec = merge_patch(spec, merge)
    diags = Collector()
    patches = overlay.get("patches") or []
    if patches:
        import jsonpatch  # only overlays with patches pay for it
        import jsonpointer
    for index, op in enumerate(patches):
        where = env.loc(("spec", "patches", index))
        try:
            spec = jsonpatch.JsonPatch([op]).apply(spec, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError) as exc:
            diags.error(where, f"patch op {op.get('op')!r} at {op.get('path')!r} failed: {exc}")
            continue
        target = _pointer_path(op.get("path", ""))
        smap.set(target, 2 + index, where)
    diags.raise_if_errors(ValidationError)
    return spec, smap


def _pointer_path(pointer: str) -> Path:
    import jsonpointer

    parts: list[str | int] = []
    for token in jsonpointer.JsonPointer(pointer).parts:
        parts.append(int(token) if token.isdigit() else token)
    return tuple(parts)
