"""The package as users get it: a wheel in a fresh venv, the public API, the layering, and the
pytest plugin used from a fleet repository of its own."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from helpers import FIXTURES, ROOT

import skipper_render

DEMO = FIXTURES / "valid" / "demo"
BIN = Path(sys.executable).parent


def _run(cmd: list[str], cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    return subprocess.run(cmd, cwd=cwd, env=environ, capture_output=True, text=True, check=False, timeout=300)


def test_wheel_in_a_fresh_venv_renders_like_the_editable_install(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)]
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("skipper_render-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in (
        "skipper_render/py.typed",
        "skipper_plugin/py.typed",
        "skipper_render/data/classes/premium.yaml",
        "skipper_render/data/schemas/ikanos.json",
        "skipper_render/workflows/promote.py",
    ):
        assert data in names
    assert not any(n.startswith(("tests/", "fixtures/", "bench/")) for n in names)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    installed = _run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)])
    assert installed.returncode == 0, installed.stderr
    fresh = _run([str(env_dir / "bin" / "skipper"), "render", str(DEMO), "--env", "prod"], cwd=tmp_path)
    editable = _run([str(BIN / "skipper"), "render", str(DEMO), "--env", "prod"], cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout == editable.stdout
    assert _run([str(env_dir / "bin" / "skipper-krm"), "--help"]).returncode == 0
    api = f"import skipper_render as s; print(s.render({str(DEMO)!r}, 'dev').to_yaml(), end='')"
    assert (
        _run([str(env_dir / "bin" / "python"), "-c", api], cwd=tmp_path).stdout
        == _run([str(BIN / "skipper"), "render", str(DEMO), "--env", "dev"]).stdout
    )


def test_the_public_api_is_what_the_cli_prints(tmp_path: Path) -> None:
    result = skipper_render.render(DEMO, "staging")
    cli = _run([str(BIN / "skipper"), "render", str(DEMO), "--env", "staging"])
    assert result.to_yaml() == cli.stdout
    as_json = _run([str(BIN / "skipper"), "render", str(DEMO), "--env", "staging", "-o", "json"])
    assert result.to_json() == as_json.stdout
    count = result.write(tmp_path / "out")
    written = _run(
        [str(BIN / "skipper"), "render", str(DEMO), "--env", "staging", "--output-dir", str(tmp_path / "cli")]
    )
    assert written.returncode == 0
    ours = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*.yaml"))
    theirs = sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*.yaml"))
    assert count == len(ours) and ours == theirs
    with pytest.raises(skipper_render.SkipperError) as err:
        skipper_render.render(DEMO, "nope")
    assert err.value.diagnostics[0].location.file == "naftiko.fleet.yaml"
    assert set(skipper_render.__all__) >= {"render", "validate", "RenderResult", "SkipperError", "ValidationError"}


def _imports(package: Path) -> set[tuple[Path, str]]:
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add((path, node.module))
            elif isinstance(node, ast.Import):
                found |= {(path, alias.name) for alias in node.names}
    return found


def test_the_engine_never_imports_the_plugin_layer() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}: {m}"
        for p, m in _imports(ROOT / "skipper_render")
        if m.split(".")[0] == "skipper_plugin"
    ]
    assert offenders == []
    assert any(m.startswith("skipper_render") for _, m in _imports(ROOT / "plugin" / "skipper_plugin"))
    code = "import skipper_render.cli, sys; print(sorted(m for m in sys.modules if m.startswith('skipper_plugin')))"
    assert _run([sys.executable, "-c", code]).stdout.strip() == "[]"


def test_model_modules_read_no_files() -> None:
    readers = {"open", "read_text", "read_bytes", "package_documents", "iterdir", "files"}
    for path in (ROOT / "skipper_render" / "model").glob("*.py"):
        tree = ast.parse(path.read_text())
        called = {
            n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
        }
        assert not called & readers, f"{path.name} reads files: {sorted(called & readers)}"
        modules = {m for p, m in _imports(path.parent) if p == path}
        assert not {m for m in modules if m.startswith(("skipper_render.load", "importlib", "pathlib"))}


FLEET_TEST = """\
def test_prod(fleet_render, fleet_snapshot):
    assert fleet_render("prod") == fleet_snapshot


def test_one_capability(fleet_render):
    assert "name: ping" in fleet_render("dev", capability="ping")
"""


def test_pytest_plugin_in_a_fleet_repo(tmp_path: Path) -> None:
    repo = tmp_path / "fleet-repo"
    shutil.copytree(DEMO, repo)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_renders.py").write_text(FLEET_TEST)
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    first = _run([*pytest_cmd, "--snapshot-update"], cwd=repo)
    assert first.returncode == 0, first.stdout + first.stderr
    (snap,) = (repo / "tests" / "__snapshots__").rglob("*.yaml")
    assert snap.read_text() == _run([str(BIN / "skipper"), "render", str(repo), "--env", "prod"]).stdout
    assert _run(pytest_cmd, cwd=repo).returncode == 0
    # A change to a render that nobody reviewed fails the suite ...
    overlay = repo / "environments" / "prod.yaml"
    overlay.write_text(overlay.read_text().replace("namespace: shipyard-prod", "namespace: shipyard-prod2"))
    changed = _run(pytest_cmd, cwd=repo)
    assert changed.returncode == 1 and "test_prod" in changed.stdout
    # ... and --fleet points the fixture at another fleet.
    other = _run([*pytest_cmd, "-k", "one_capability", f"--fleet={DEMO}"], cwd=repo)
    assert other.returncode == 0, other.stdout


def test_pytest_plugin_reports_render_errors_located(tmp_path: Path) -> None:
    repo = tmp_path / "broken"
    shutil.copytree(FIXTURES / "invalid" / "unknown-class", repo)
    (repo / "test_it.py").write_text("def test_it(fleet_render):\n    fleet_render()\n")
    out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_it.py"], cwd=repo)
    assert out.returncode == 1
    assert "naftiko.fleet.yaml:7:37: capabilities.hello.class: unknown class 'gold'" in out.stdout
    assert "Traceback" not in out.stdout


def test_help_texts() -> None:
    assert _run([str(BIN / "skipper-krm"), "--help"]).returncode == 0
    helped = _run([str(BIN / "skipper"), "render", "--help"]).stdout
    assert "--output-dir DIR" in helped
    assert "-C, --path PATH" in _run([str(BIN / "skipper"), "promote", "--help"]).stdout


def test_the_image_installs_only_hashed_pins_on_a_digest_pinned_base() -> None:
    import re
    import tomllib

    from packaging.requirements import Requirement

    dockerfile = (ROOT / "plugin" / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE=python:[\w.-]+@sha256:[0-9a-f]{64}$", dockerfile, re.M)
    assert dockerfile.count("--require-hashes") == 2 and "--no-build-isolation" in dockerfile
    assert {m for m in re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, re.M)} == {"base", "krm", "cmp"}
    pins: dict[str, str] = {}
    for lock in ("requirements.lock", "build.lock"):
        text = (ROOT / "plugin" / lock).read_text()
        for block in re.split(r"\n(?=[a-z])", text):
            found = re.match(r"([a-z0-9-]+)==(\S+) \\\n(?:\s+--hash=sha256:[0-9a-f]{64}.*\n?)+", block)
            if found:
                pins[found.group(1)] = found.group(2)
        assert not re.search(r"^[a-z].*==[^\\\n]*$", text, re.M)  # every pin carries hashes
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for spec in map(Requirement, needed):
        name = re.sub(r"[._]", "-", spec.name.lower())
        assert name in pins, f"{name} is not pinned in plugin/*.lock"
        assert spec.specifier.contains(pins[name]), f"{name}=={pins[name]} does not satisfy {spec}"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests", "bench"} <= set(ignored)
