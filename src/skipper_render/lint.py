"""Spec lint against the real ikanos / naftiko JSON Schemas (Draft 2020-12), shipped as data.

Real specs are messy (the public corpus fails these schemas routinely and the engine still runs
them), so findings are warnings unless the request is strict. The check costs a jsonschema import
and ~5 ms per spec, so `render` runs it only with --strict; `skipper validate` always runs it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

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
    import jsonschema  # only linting pays for it

    schema = json.loads((resources.files("skipper_render") / "data" / "schemas" / name).read_text(encoding="utf-8"))
    root = "ikanos" if name == "ikanos.json" else "naftiko"
    return jsonschema.Draft202012Validator(schema), str(schema["properties"][root].get("const", ""))


def lint(doc: Document, dialect: str, version: str) -> list[tuple[Path, str]]:
    """Schema findings for one spec: (data path, message), at most MAX_FINDINGS, in document order."""
    from jsonschema.exceptions import best_match

    validator, const = _validator(schema_name(dialect, version))
    instance = {**doc.data, dialect: const} if const else doc.data  # structure only, any released version
    out: list[tuple[Path, str]] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        specific = best_match(error.context) if error.context else error
        path = tuple(p for p in specific.absolute_path if isinstance(p, str | int))
        message = specific.message if len(specific.message) <= 160 else specific.message[:157] + "..."
        out.append((path, f"schema: {message}"))
        if len(out) == MAX_FINDINGS:
            break
    return out
