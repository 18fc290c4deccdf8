"""The hostile inputs of the safety issue, as benchmark rows: each must fail fast and small.

Each case is a small fleet (or a KRM ResourceList) that once cost gigabytes; `run.py` times the
whole `skipper` process and reads its peak RSS. They are bench rows, never timed tests (the tests
check that each one is refused with a located message).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = (HERE.parent / "fixtures" / "valid" / "minimal").resolve()

MANIFEST = """\
apiVersion: fleet.naftiko.io/v1alpha1
kind: Fleet
metadata: {name: hostile}
spec:
  namespace: hostile
  capabilities:
    hello: {spec: hello.yml}
  environments:
    bomb: environments/bomb.yaml
"""


def _fleet(root: Path, overlay: str, spec: str | None = None) -> Path:
    if root.exists():
        shutil.rmtree(root)
    (root / "environments").mkdir(parents=True)
    (root / "naftiko.fleet.yaml").write_text(MANIFEST)
    (root / "hello.yml").write_text(spec if spec is not None else _minimal_spec())
    (root / "environments" / "bomb.yaml").write_text(overlay)
    return root


def _minimal_spec() -> str:
    return (SPEC / "hello.ikanos.yml").read_text()


def patch_bomb(root: Path) -> list[str]:
    """24 JSON-patch `copy` ops, each doubling one list (once 2.3 GB)."""
    ops = ['    - {op: add, path: /b, value: ["' + "x" * 512 + '"]}']
    ops += ["    - {op: copy, from: /b, path: /b/-}"] * 24
    overlay = "apiVersion: fleet.naftiko.io/v1alpha1\nkind: Environment\nmetadata: {name: bomb}\nspec:\n  patches:\n"
    fleet = _fleet(root / "patch-bomb", overlay + "\n".join(ops) + "\n")
    return ["render", str(fleet), "--env", "bomb"]


def alias_bytes(root: Path) -> list[str]:
    """A 1 MB string referenced by 1,000 aliases (once 1 GB of output)."""
    big = "a" * (1 << 20)
    refs = ", ".join(["*s"] * 1000)
    overlay = (
        "apiVersion: fleet.naftiko.io/v1alpha1\nkind: Environment\nmetadata: {name: bomb}\n"
        f'spec:\n  merge:\n    defaults:\n      env: {{BIG: &s "{big}"}}\n    labels: [{refs}]\n'
    )
    fleet = _fleet(root / "alias-bytes", overlay)
    return ["render", str(fleet), "--env", "bomb"]


def tiny_nodes_spec(root: Path) -> list[str]:
    """A 4 MiB spec of tiny nodes (once 1.25 GB before a check rejected it)."""
    spec = "ikanos: 1.0.0-beta4\ninfo: {display: x}\ncapability:\n  exposes: [" + ",".join(["0"] * 2_000_000) + "]\n"
    overlay = "apiVersion: fleet.naftiko.io/v1alpha1\nkind: Environment\nmetadata: {name: bomb}\nspec: {}\n"
    fleet = _fleet(root / "tiny-nodes", overlay, spec[: 4 * 1024 * 1024 - 2] + "]\n")
    return ["render", str(fleet), "--env", "bomb"]


def krm_small_nodes(root: Path) -> tuple[list[str], Path | None]:
    """A 10 MB ResourceList of small nodes on the KRM function's stdin (once 3.4 GB)."""
    items = ",".join(['{"a":[0,0,0,0,0,0,0,0]}'] * 400_000)
    data = '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[' + items + "]}"
    path = root / "krm-small-nodes.json"
    path.write_text(data)
    return ["<krm>"], path


CASES = {
    "JSON-patch copy bomb (24 ops)": patch_bomb,
    "alias byte amplification (1 MB x 1,000)": alias_bytes,
    "4 MiB spec of tiny nodes": tiny_nodes_spec,
}


def write(root: Path) -> dict[str, tuple[list[str], Path | None]]:
    """Every case: (arguments after the program, a file for stdin or None)."""
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[list[str], Path | None]] = {name: (make(root), None) for name, make in CASES.items()}
    out["KRM ResourceList, 10 MB of small nodes"] = krm_small_nodes(root)
    (root / "cases.json").write_text(json.dumps({k: v[0] for k, v in out.items()}, indent=2))
    return out
