"""The README's Quickstart works as written, from an empty directory."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from helpers import ROOT

README = (ROOT / "README.md").read_text()


def _quickstart() -> str:
    start = README.index("## Quickstart")
    return README[start : README.index("\n## ", start + 1)]


def test_the_quickstart_runs_verbatim(tmp_path: Path) -> None:
    section = _quickstart()
    files = re.findall(r"```yaml\n# (\S+)\n(.*?)```", section, re.S)
    assert {name for name, _ in files} >= {
        "my-fleet/naftiko.fleet.yaml",
        "my-fleet/environments/dev.yaml",
        "my-fleet/environments/prod.yaml",
        "my-fleet/capabilities/hello/hello.ikanos.yml",
    }
    for name, body in files:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    (commands,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    bindir = str(Path(sys.executable).parent)  # where `skipper` is installed beside this Python
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for line in commands.splitlines():
        command = line.split("#", 1)[0].strip()
        if not command:
            continue
        assert shlex.split(command)[0] == "skipper"
        proc = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{command}\n{proc.stderr}"
        assert "warning" not in proc.stderr, f"{command}\n{proc.stderr}"
    documents = [d for d in yaml.safe_load_all((tmp_path / "prod.yaml").read_text()) if d]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    assert deployment["metadata"]["namespace"] == "hello-prod" and deployment["spec"]["replicas"] == 3
    assert (tmp_path / "rendered" / "prod" / ".skipper-render").is_file()
    schema = yaml.safe_load((tmp_path / "my-fleet" / "fleet.schema.json").read_text())
    assert schema["$ref"] == "#/$defs/Fleet" and "description" in schema["$defs"]["FleetSpec"]


def test_every_command_in_the_readme_table_exists() -> None:
    from click.testing import CliRunner

    from skipper_plugin.cli import main

    table = README[README.index("## Commands") : README.index("## Python API")]
    for command in sorted(set(re.findall(r"^\| `skipper ([a-z]+(?: [a-z]+)?)", table, re.M))):
        words = command.split()
        if len(words) == 2 and words[1] not in {"generate", "appset", "tools", "bundle", "verify"}:
            words = words[:1]
        result = CliRunner().invoke(main, [*words, "--help"])
        assert result.exit_code == 0, f"skipper {' '.join(words)}: {result.output}"
