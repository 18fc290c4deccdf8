"""Spec lint against the real ikanos / naftiko JSON Schemas: warnings, errors under --strict."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import FIXTURES

from skipper_render import render, validate
from skipper_render.errors import ValidationError

LEGACY = FIXTURES / "valid" / "naftiko-legacy"
TEAMS = "capabilities/teams/microsoft-teams-sandbox.naftiko.yml"


def test_validate_reports_schema_findings_with_positions() -> None:
    warnings = [str(w) for w in validate(LEGACY, "dev", strict=False)]
    assert (
        f"{TEAMS}:44:7: capability.exposes[1]: warning: schema: "
        "Additional properties are not allowed ('description' was unexpected)"
    ) in warnings


def test_plain_render_skips_the_schema_lint() -> None:
    result = render(LEGACY, "dev")
    assert not [w for w in result.warnings if "schema:" in w.message]
    code = "import skipper_plugin.cli, sys; print('jsonschema' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_strict_makes_schema_findings_errors() -> None:
    with pytest.raises(ValidationError) as err:
        render(LEGACY, "dev", strict=True)
    assert any("schema: Additional properties are not allowed" in d.message for d in err.value.diagnostics)


def test_clean_ikanos_spec_has_no_findings() -> None:
    warnings = validate(FIXTURES / "valid" / "routing-istio", "prod", strict=False)
    ping = [w for w in warnings if "ping.ikanos.yml" in w.location.file and "schema:" in w.message]
    assert ping == []


def test_findings_come_from_the_variant_the_type_names() -> None:
    warnings = [str(w) for w in validate(LEGACY, "dev", strict=False)]
    # a skill expose is checked as a skill expose, not as whichever variant ranks first
    assert f"{TEAMS}:66:7: capability.exposes[2]: warning: schema: 'skills' is a required property" in warnings
