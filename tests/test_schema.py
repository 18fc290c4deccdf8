"""`skipper schema` is editor help: every model and field is described, enums come through."""

from __future__ import annotations

import json

from click.testing import CliRunner

from skipper_plugin.cli import main


def _schema(kind: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["schema", "--kind", kind])
    assert result.exit_code == 0
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_every_model_and_field_has_a_description() -> None:
    defs = _schema("all")["$defs"]
    assert isinstance(defs, dict)
    missing = [name for name, d in defs.items() if "description" not in d]
    missing += [
        f"{name}.{field}"
        for name, d in defs.items()
        for field, prop in (d.get("properties") or {}).items()
        if "description" not in prop
    ]
    assert missing == []


def test_enums_and_examples_help_completion() -> None:
    defs = _schema("fleet")["$defs"]
    assert isinstance(defs, dict)
    mesh = defs["Routing"]["properties"]["mesh"]
    assert set(mesh["enum"]) == {"none", "istio", "linkerd", "consul"}
    assert defs["Ingress"]["properties"]["host"]["examples"] == ["{capability}.example.com"]
    assert "Route 53" in json.dumps(defs["DnsFailover"])
