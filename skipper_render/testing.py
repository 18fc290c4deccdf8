"""A pytest plugin for fleet repositories: snapshot tests of their renders.

Registered through the `pytest11` entry point, so any environment that installs skipper-render
has it; it costs nothing until a test asks for one of its fixtures:

- `fleet_render(env=None, cluster=None, capability=None, target="kubernetes", part="all") -> str`
  renders the fleet at the pytest rootdir (or `--fleet PATH`, or the `skipper_fleet` ini option)
  and returns the YAML stream `skipper render` prints for the same settings;
- `fleet_snapshot`: syrupy's `snapshot` storing each render as a plain `.yaml` file beside the
  test (`__snapshots__/<test file>/<test name>.yaml`), so a reviewer reads a render diff, not an
  escaped string. It needs syrupy: `pip install 'skipper-render[testing]'`.

    def test_prod(fleet_render, fleet_snapshot):
        assert fleet_render("prod") == fleet_snapshot

A render error fails the test with the located messages (`file:line:col: path: message`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

INI = "skipper_fleet"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("skipper-render", "fleet snapshot tests (skipper_render.testing)")
    group.addoption("--fleet", dest="skipper_fleet", metavar="PATH", help="fleet directory or manifest to render")
    parser.addini(INI, "fleet directory or manifest to render, relative to the rootdir (default: the rootdir)")


def fleet_path(config: pytest.Config) -> Path:
    """`--fleet`, else the `skipper_fleet` ini option (relative to the rootdir), else the rootdir."""
    option = config.getoption("skipper_fleet", default=None)
    if option:
        return Path(option).resolve()
    root = Path(config.rootpath)
    value = config.getini(INI)
    return (root / value).resolve() if value else root


@pytest.fixture
def fleet_render(pytestconfig: pytest.Config) -> Callable[..., str]:
    """A callable rendering the fleet under test to the YAML stream `skipper render` prints."""
    from skipper_render import SkipperError, render

    path = fleet_path(pytestconfig)

    def render_yaml(
        env: str | None = None,
        cluster: str | None = None,
        capability: str | None = None,
        target: str = "kubernetes",
        part: str = "all",
    ) -> str:
        try:
            result = render(
                path,
                env,
                cluster=cluster,
                capability=capability,
                target="operator" if target == "operator" else "kubernetes",
                part="fleet" if part == "fleet" else "capabilities" if part == "capabilities" else "all",
            )
        except SkipperError as exc:
            pytest.fail(f"skipper render of {path} failed:\n{exc}", pytrace=False)
        return result.to_yaml()

    return render_yaml


@pytest.fixture
def fleet_snapshot(request: pytest.FixtureRequest) -> Any:
    """syrupy's `snapshot`, writing each render to its own `.yaml` file."""
    try:
        from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
    except ImportError:  # pragma: no cover - depends on the environment
        pytest.fail("fleet_snapshot needs syrupy: pip install 'skipper-render[testing]'", pytrace=False)

    class YamlSnapshot(SingleFileSnapshotExtension):
        file_extension = "yaml"
        _write_mode = WriteMode.TEXT

    return request.getfixturevalue("snapshot").use_extension(YamlSnapshot)
