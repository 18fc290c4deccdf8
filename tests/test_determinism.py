"""Byte-identical output for shuffled input key order and different PYTHONHASHSEEDs (SPEC section 4)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import FIXTURES


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]  # list order is meaning, not noise
    return value


def _render(path: Path, seed: str, env: str) -> bytes:
    environ = {**os.environ, "PYTHONHASHSEED": seed}
    cmd = [sys.executable, "-m", "skipper_plugin", "render", str(path), "--env", env]
    return subprocess.run(cmd, env=environ, capture_output=True, check=True).stdout


@pytest.mark.parametrize(
    ("case", "envs"),
    [("demo", ("dev", "prod")), ("routing-consul", ("prod",)), ("routing-linkerd", ("prod",)), ("secure", ("prod",))],
)
def test_shuffled_inputs_and_hash_seeds_give_identical_bytes(tmp_path: Path, case: str, envs: tuple[str, ...]) -> None:
    fleet = FIXTURES / "valid" / case
    copy = shutil.copytree(fleet, tmp_path / case)
    rng = random.Random(7)
    for manifest in [copy / "naftiko.fleet.yaml", *sorted((copy / "environments").glob("*.yaml"))]:
        data = yaml.safe_load(manifest.read_text())
        manifest.write_text(yaml.safe_dump(_shuffled(data, rng), sort_keys=False))
    for env in envs:
        reference = _render(fleet, "0", env)
        assert reference.startswith(b"---\n")
        for seed in ("1", "4242", "random"):
            assert _render(copy, seed, env) == reference
