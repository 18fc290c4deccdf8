"""--output-dir never destroys what it did not write; --check and diff never leak what they read."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FIXTURES

from skipper_plugin.cli import main
from skipper_render.output import MARKER, STAGING

MINIMAL = FIXTURES / "valid" / "minimal"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Everything under `root`, links by target, so a test can show nothing changed."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = f"-> {os.readlink(path)}"
        elif path.is_file():
            out[rel] = path.read_bytes()
        else:
            out[rel] = "dir"
    return out


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MINIMAL, tmp_path / "repo" / "fleet"))


def test_render_replaces_its_own_output_and_only_that(fleet: Path) -> None:
    out = fleet.parent / "rendered"
    assert run("render", str(fleet), "--output-dir", str(out))[0] == 0
    assert (out / MARKER).is_file()
    (out / "hello" / "stale_object.yaml").write_text("left over\n")
    assert run("render", str(fleet), "--output-dir", str(out))[0] == 0
    assert not (out / "hello" / "stale_object.yaml").exists()  # the whole tree is replaced
    assert not [p for p in out.parent.iterdir() if STAGING in p.name]  # staging cleaned up


def test_an_empty_directory_is_fine(fleet: Path) -> None:
    out = fleet.parent / "empty"
    out.mkdir()
    assert run("render", str(fleet), "--output-dir", str(out))[0] == 0
    assert (out / MARKER).is_file()


@pytest.mark.parametrize("where", ["fleet", "ancestor", "file", "foreign", "symlink", "root"])
def test_what_is_refused_is_left_untouched(fleet: Path, where: str) -> None:
    repo = fleet.parent
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    foreign = repo / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine\n")
    (repo / "file.yaml").write_text("a: 1\n")
    (repo / "link").symlink_to(foreign)
    target = {
        "fleet": fleet,
        "ancestor": repo,
        "file": repo / "file.yaml",
        "foreign": foreign,
        "symlink": repo / "link",
        "root": Path("/"),
    }[where]
    before = snapshot(repo)
    code, out, err = run("render", str(fleet), "--output-dir", str(target))
    assert (code, out) == (1, "")
    assert "\n--output-dir: " in "\n" + err and "nothing was changed" in err
    assert snapshot(repo) == before


def test_a_relative_output_dir_that_is_the_fleet_is_refused(fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(fleet)
    before = snapshot(fleet)
    code, _, err = run("render", ".", "--output-dir", ".")
    assert code == 1 and "is the fleet directory" in err
    assert snapshot(fleet) == before


def test_stale_staging_dirs_of_killed_renders_are_removed(fleet: Path) -> None:
    out = fleet.parent / "rendered"
    stale = fleet.parent / f".rendered{STAGING}killed"
    stale.mkdir()
    (stale / MARKER).write_text("from a render that was killed\n")
    (stale / "half.yaml").write_text("a: 1\n")
    assert run("render", str(fleet), "--output-dir", str(out))[0] == 0
    assert not stale.exists()


def test_a_concurrent_render_fails_with_a_message(fleet: Path) -> None:
    out = fleet.parent / "rendered"
    assert run("render", str(fleet), "--output-dir", str(out))[0] == 0
    before = snapshot(out)
    with open(out / MARKER) as held:  # another render holds DIR while it swaps
        fcntl.flock(held, fcntl.LOCK_EX)
        code, _, err = run("render", str(fleet), "--output-dir", str(out))
    assert code == 1 and "another skipper render is writing it right now" in err
    assert snapshot(out) == before
    assert not [p for p in out.parent.iterdir() if STAGING in p.name]


def test_a_missing_parent_is_created_and_an_impossible_one_is_an_error(fleet: Path) -> None:
    assert run("render", str(fleet), "--output-dir", str(fleet.parent / "a" / "b" / "c"))[0] == 0
    code, out, err = run("render", str(fleet), "--output-dir", str(fleet / "hello.ikanos.yml" / "x"))
    assert (code, out) == (1, "") and "cannot create its parent directory" in err


def test_check_reports_links_extra_files_and_crlf_without_their_content(fleet: Path, tmp_path: Path) -> None:
    out = fleet.parent / "rendered"
    assert run("render", str(fleet), "--output-dir", str(out))[0] == 0
    assert run("render", str(fleet), "--check", str(out))[0] == 0
    secret = tmp_path / "environ"
    secret.write_text("AWS_SECRET_ACCESS_KEY=hunter2\n")
    service = out / "hello" / "service_hello.yaml"
    service.unlink()
    service.symlink_to(secret)  # planted: the check must not print the target
    (out / "evil.yaml").write_text("apiVersion: v1\nkind: Secret\n")
    (out / "hello" / "kustomization.yml").write_text("resources: []\n")
    deployment = out / "hello" / "deployment.apps_hello.yaml"
    deployment.write_bytes(deployment.read_bytes().replace(b"\n", b"\r\n"))
    code, stdout, err = run("render", str(fleet), "--check", str(out))
    assert (code, stdout) == (1, "")
    assert "hunter2" not in err
    assert "hello/service_hello.yaml: a symlink (not followed)" in err
    assert "evil.yaml: not a rendered document (an extra file)" in err
    assert "hello/kustomization.yml: not a rendered document" in err
    assert "hello/deployment.apps_hello: line endings differ (CRLF" in err
    code, diff, _ = run("diff", str(fleet), "--against", str(out), "--format", "markdown")
    assert "hunter2" not in diff and "a symlink (not followed)" in diff
