"""JSON Schema (Draft 2020-12) of the fleet manifest and environment overlay, from the models."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from skipper_render.model.docs import annotate
from skipper_render.model.fleet import Environment, Fleet

SCHEMA_ID = "https://naftiko.io/schemas/fleet.naftiko.io/v1alpha1"


def json_schema(kind: str = "all") -> dict[str, Any]:
    """`fleet`, `environment`, or `all` (either document, told apart by `kind`)."""
    refs, defs = models_json_schema([(Fleet, "validation"), (Environment, "validation")], by_alias=True)
    annotate(defs.get("$defs", {}))
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", **defs}
    fleet_ref, env_ref = refs[(Fleet, "validation")], refs[(Environment, "validation")]
    if kind == "fleet":
        schema |= {"$id": f"{SCHEMA_ID}/fleet.json", **fleet_ref, "title": "Fleet"}
    elif kind == "environment":
        schema |= {"$id": f"{SCHEMA_ID}/environment.json", **env_ref, "title": "Environment"}
    else:
        schema |= {
            "$id": f"{SCHEMA_ID}/all.json",
            "oneOf": [fleet_ref, env_ref],
            "title": "Fleet or Environment",
        }
    return schema
