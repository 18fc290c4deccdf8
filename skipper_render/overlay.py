"""Environment overlays: fleet `spec` + RFC 7386 `merge` + RFC 6902 `patches` -> effective spec.

Pure: inputs are never mutated; the result is new data plus a `SourceMap` that knows which file
and line produced every path, so a validation error in the effective fleet points at the fleet
manifest line or at the overlay line that set the value. Positions are looked up only when a
message needs one. Patches are bounded: the document may not grow past the load limits (a few
`copy` ops would otherwise double it each time), and a failed op is explained by its path, never
by printing the document or the values it compared. Pins are applied in `resolve`.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from skipper_render.errors import Collector, Lazy, Location, Path, ValidationError, Where, resolve_where, shorten
from skipper_render.load import Document, Limits

_SIZE = 16  # as load: bytes charged per node besides its text


class _Layer(NamedTuple):
    seq: int
    doc: Document
    prefix: Path  # where the layer's values sit in `doc`
    rebase: Path  # where they land in the effective spec


@dataclass
class SourceMap:
    """Effective-spec path -> the file position that set it. The latest write on any prefix wins."""

    layers: list[_Layer] = field(default_factory=list)
    writes: dict[Path, tuple[int, Where]] = field(default_factory=dict)
    fallback: Where = field(default_factory=Location)

    def record(self, doc: Document, prefix: Path, rebase: Path, seq: int) -> None:
        """Every value of `doc` under `prefix` lands under `rebase` (looked up lazily)."""
        self.layers.append(_Layer(seq, doc, prefix, rebase))

    def set(self, path: Path, seq: int, where: Where) -> None:
        self.writes[path] = (seq, where)

    def _hit(self, path: Path) -> tuple[int, Location] | None:
        best: tuple[int, Location] | None = None
        write = self.writes.get(path)
        if write is not None:
            best = (write[0], resolve_where(write[1]))
        for layer in self.layers:
            size = len(layer.rebase)
            if path[:size] != layer.rebase or (best is not None and best[0] >= layer.seq):
                continue
            pos = layer.doc.positions.get(layer.prefix + path[size:])
            if pos is not None:
                best = (layer.seq, Location(layer.doc.file, pos[0], pos[1]))
        return best

    def loc(self, path: Path) -> Location:
        best: tuple[int, Location] | None = None
        for depth in range(len(path), -1, -1):
            hit = self._hit(path[:depth])
            if hit is not None and (best is None or hit[0] > best[0]):
                best = hit
        where = best[1] if best else resolve_where(self.fallback)
        return Location(where.file, where.line, where.col, path)

    def at(self, path: Path) -> Lazy:
        return Lazy(self, path)


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


def size(value: Any) -> tuple[int, int]:
    """(nodes, bytes) of plain data, counted as `load` counts them."""
    nodes, total = 0, 0
    stack = [value]
    while stack:
        item = stack.pop()
        nodes += 1
        if isinstance(item, dict):
            total += _SIZE + sum(len(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            total += _SIZE
            stack.extend(item)
        else:
            total += _SIZE + (len(item) if isinstance(item, str) else 8)
    return nodes, total


def apply_overlay(fleet: Document, env: Document | None, limits: Limits = Limits()) -> tuple[dict[str, Any], SourceMap]:
    """The effective fleet `spec` for one environment, with its source map."""
    base = fleet.data.get("spec") if isinstance(fleet.data, dict) else None
    if base is not None and not isinstance(base, dict):
        raise ValidationError.at(fleet.at(("spec",)), f"spec must be a mapping, found {_kind(base)}")
    # Shallow: the merge patch copies what it changes and shares the rest with the manifest's data,
    # which nothing mutates; only JSON patches (applied in place) work on a deep copy.
    spec: dict[str, Any] = dict(base) if isinstance(base, dict) else {}
    smap = SourceMap(fallback=fleet.at(("spec",)))
    smap.record(fleet, ("spec",), (), 0)
    if env is None or not isinstance(env.data, dict) or not isinstance(env.data.get("spec"), dict):
        return spec, smap
    overlay = env.data["spec"]
    merge = overlay.get("merge")
    if isinstance(merge, dict):
        _record_merge(smap, env, spec, merge, (), 1)
        spec = merge_patch(spec, merge)
    patches = overlay.get("patches") or []
    if patches:
        spec = _apply_patches(copy.deepcopy(spec), patches, env, smap, limits)
    return spec, smap


def _apply_patches(
    spec: dict[str, Any], patches: list[Any], env: Document, smap: SourceMap, limits: Limits
) -> dict[str, Any]:
    import jsonpatch  # only overlays with patches pay for it
    import jsonpointer

    diags = Collector()
    nodes, total = size(spec)
    doc: Any = spec
    for index, op in enumerate(patches):
        where = env.at(("spec", "patches", index))
        if not isinstance(op, dict):
            diags.error(where, "a patch op must be a mapping {op, path, ...}")
            continue
        name, pointer = op.get("op"), op.get("path")
        grown = _growth(doc, op)
        if grown is not None and (nodes + grown[0] > limits.max_nodes or total + grown[1] > limits.max_bytes):
            diags.error(where, f"patch op {name!r} at {_shown(pointer)} would grow the fleet past the input limits")
            break  # the document is not what later ops expect: stop here
        try:
            doc = jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError, IndexError):
            diags.error(where, f"patch op {name!r} at {_shown(pointer)} failed: {_explain(doc, op)}")
            continue
        if grown is not None:  # an upper bound: what replace and remove take away is not subtracted
            nodes, total = nodes + grown[0], total + grown[1]
        smap.set(_pointer_path(str(pointer)), 2 + index, where)
    diags.raise_if_errors(ValidationError)
    if not isinstance(doc, dict):
        raise ValidationError.at(env.at(("spec", "patches")), f"the patched spec is {_kind(doc)}, not a mapping")
    return doc


def _growth(doc: Any, op: dict[str, Any]) -> tuple[int, int] | None:
    """What an op may add to the document (None: it adds nothing)."""
    name = op.get("op")
    if name in ("add", "replace"):
        return size(op.get("value"))
    if name == "copy":
        found = _lookup(doc, str(op.get("from", "")))
        return size(found[1]) if found is not None and found[0] else None
    return None


def _kind(value: Any) -> str:
    kinds: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string"}
    return kinds.get(type(value), type(value).__name__)


def _shown(pointer: Any) -> str:
    return repr(shorten(pointer)) if isinstance(pointer, str) else "(no path)"


def pointer_tokens(pointer: str) -> list[str] | None:
    """An RFC 6901 pointer's unescaped tokens (`""` is the root: none); None when it is malformed."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        return None
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _lookup(doc: Any, pointer: str) -> tuple[bool, Any] | None:
    """(found, value) at `pointer`; None when the pointer is malformed."""
    tokens = pointer_tokens(pointer)
    if tokens is None:
        return None
    value = doc
    for token in tokens:
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return False, None
    return True, value


def _explain(doc: Any, op: dict[str, Any]) -> str:
    """Why an op failed, by path: the first missing step and the nearest existing keys."""
    name = op.get("op")
    if name not in ("add", "remove", "replace", "move", "copy", "test"):
        return f"unknown op {_shown(name)} (known: add, remove, replace, move, copy, test)"
    for field_name in ("path", "from") if name in ("move", "copy") else ("path",):
        pointer = op.get(field_name)
        if not isinstance(pointer, str) or pointer_tokens(pointer) is None:
            return f"{field_name} {_shown(pointer)} is not a JSON pointer (it starts with '/')"
        tokens = pointer_tokens(pointer) or []
        last = len(tokens) - (1 if name == "add" and field_name == "path" else 0)
        value = doc
        for depth, token in enumerate(tokens[:last]):
            here = "/" + "/".join(tokens[:depth]) if depth else "the root"
            if isinstance(value, dict):
                if token not in value:
                    close = difflib.get_close_matches(token, [str(k) for k in value], n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    return f"{here} has no key {shorten(token)!r}{hint}"
                value = value[token]
            elif isinstance(value, list):
                if not token.isdigit() or int(token) >= len(value):
                    return f"{here} is a list of {len(value)} items: {shorten(token)!r} is no index of it"
                value = value[int(token)]
            else:
                return f"{here} is {_kind(value)}, not a mapping or list"
    if name == "test":
        return "the value there differs from the one the op tests for"
    if name in ("add", "replace", "test") and "value" not in op:
        return "the op has no 'value'"
    return "the target cannot take this op"


def _pointer_path(pointer: str) -> Path:
    return tuple(int(t) if t.isdigit() else t for t in (pointer_tokens(pointer) or []))
