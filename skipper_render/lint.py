"""Spec lint against the real ikanos / naftiko JSON Schemas (Draft 2020-12), shipped as data.

Real specs are messy (the public corpus fails these schemas routinely and the engine still runs
them), so findings are warnings unless the request is strict. The check costs a jsonschema import
and ~5 ms per spec, so `render` runs it only with --strict (spec.py imports this module only then);
`skipper validate` always runs it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from skipper_render.errors import Path
from skipper_render.load import Document

MAX_FINDINGS = 10


def schema_name(dialect: str, version: str) -> str:
    if dialect == "ikanos":
        return "ikanos.json"
    if version == "0.4":
        return "naftiko-0.4.json"
    return "naftiko-1.0.0-alpha3.json" if version == "1.0.0-alpha3" else "naftiko-1.0.0-alpha2.json"


@cache
def _validator(name: str) -> tuple[Any, str]:
    """(validator, the schema's version const); built once per process."""
    schema = json.loads((resources.files("skipper_render") / "data" / "schemas" / name).read_text(encoding="utf-8"))
    root = "ikanos" if name == "ikanos.json" else "naftiko"
    return jsonschema.Draft202012Validator(schema), str(schema["properties"][root].get("const", ""))


def _specific(error: Any) -> tuple[Any, str]:
    """The most useful error inside a oneOf/anyOf miss, and its message.

    Exposes and auth blocks are told apart by `type`: follow the branch whose `type` matched
    (else jsonschema may pick an MCP complaint about a REST expose); when no branch accepts the
    `type`, say so.
    """
    while error.context:
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)

        def rejects_type(errors: list[Any]) -> bool:
            return any(list(e.relative_path)[:1] == ["type"] and e.validator in ("const", "enum") for e in errors)

        matching = [errors for errors in branches.values() if not rejects_type(errors)]
        if not matching and isinstance(error.instance, dict) and "type" in error.instance:
            return error, f"type {error.instance['type']!r} matches none of the allowed variants"
        error = best_match(matching[0] if len(matching) == 1 else error.context)
    return error, str(error.message)


def lint(doc: Document, dialect: str, version: str) -> list[tuple[Path, str]]:
    """Schema findings for one spec: (data path, message), at most MAX_FINDINGS, in document order."""
    validator, const = _validator(schema_name(dialect, version))
    instance = {**doc.data, dialect: const} if const else doc.data  # structure only, any released version
    out: list[tuple[Path, str]] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        specific, message = _specific(error)
        path = tuple(p for p in specific.absolute_path if isinstance(p, str | int))
        message = message if len(message) <= 160 else message[:157] + "..."
        out.append((path, f"schema: {message}"))
        if len(out) == MAX_FINDINGS:
            break
    return out
