"""Golden renders: every `fixtures/valid/<case>` per environment (and target), snapshot + schema-valid;
every `fixtures/invalid/<case>` fails with exactly the messages in its `expected.yaml`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import FIXTURES, validate_object
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from skipper_render import RenderRequest, render, render_request
from skipper_render.errors import SkipperError
from skipper_render.render import environments
from skipper_render.serialize import to_yaml


class YamlSnapshot(SingleFileSnapshotExtension):
    file_extension = "yaml"
    _write_mode = WriteMode.TEXT


def _valid_cases() -> list[Any]:
    cases = []
    for case in sorted(p for p in (FIXTURES / "valid").iterdir() if p.is_dir()):
        config = (
            yaml.safe_load((case / "skipper-test.yaml").read_text()) if (case / "skipper-test.yaml").exists() else {}
        )
        envs: list[str | None] = [*sorted(environments(case))] or [None]
        for target in config.get("targets", ["kubernetes"]):
            for env in envs:
                cases.append(pytest.param(case, env, target, id=f"{case.name}-{env or 'default'}-{target}"))
    return cases


@pytest.mark.parametrize(("case", "env", "target"), _valid_cases())
def test_valid_fixture(case: Path, env: str | None, target: str, snapshot: SnapshotAssertion) -> None:
    result = render(case, env, target="operator" if target == "operator" else "kubernetes")
    for obj in result.objects:
        validate_object(obj)
    assert to_yaml(result.objects) == snapshot(extension_class=YamlSnapshot)


def _invalid_cases() -> list[Any]:
    return [pytest.param(p, id=p.name) for p in sorted((FIXTURES / "invalid").iterdir()) if p.is_dir()]


@pytest.mark.parametrize("case", _invalid_cases())
def test_invalid_fixture(case: Path) -> None:
    expected = yaml.safe_load((case / "expected.yaml").read_text())
    request = RenderRequest(case, expected.get("env"), strict=expected.get("strict", False))
    with pytest.raises(SkipperError) as err:
        render_request(request)
    assert [str(d) for d in err.value.diagnostics] == expected["errors"]
