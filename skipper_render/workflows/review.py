"""Rendered diffs for review: two environments, the working tree against a git ref, or a directory.

Objects are compared one by one, keyed `<namespace>/<kind>[.<group>]_<name>` (the `--output-dir`
layout); across environments the namespace is left out of the key so `shipyard-dev/...` meets
`shipyard-prod/...`. Unified output is a patch; markdown is a PR comment with a summary table and
one collapsible diff per changed object.
"""

from __future__ import annotations

import difflib
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from skipper_render.errors import Location, ValidationError
from skipper_render.output import file_name, read_dir
from skipper_render.serialize import to_yaml_document


@dataclass(frozen=True)
class Change:
    key: str
    status: str  # added | removed | changed
    patch: str


def keyed(objects: Iterable[dict[str, Any]], drop_namespace: bool = False) -> dict[str, str]:
    out = {}
    for obj in objects:
        key = file_name(obj).removesuffix(".yaml")
        if drop_namespace:
            key = key.split("/", 1)[1]
        out[key] = to_yaml_document(obj)
    return out


def from_dir(directory: Path) -> dict[str, str]:
    return {k.removesuffix(".yaml"): v for k, v in read_dir(directory).items()}


def compare(old: dict[str, str], new: dict[str, str], old_label: str, new_label: str) -> list[Change]:
    changes = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        patch = "".join(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                f"{old_label}/{key}" if before is not None else "/dev/null",
                f"{new_label}/{key}" if after is not None else "/dev/null",
            )
        )
        changes.append(Change(key, status, patch))
    return changes


def unified(changes: list[Change]) -> str:
    return "".join(c.patch for c in changes)


def markdown(changes: list[Change], title: str) -> str:
    if not changes:
        return f"### {title}\n\nNo changes.\n"
    counts = {s: sum(1 for c in changes if c.status == s) for s in ("added", "changed", "removed")}
    lines = [
        f"### {title}",
        "",
        f"{counts['added']} added, {counts['changed']} changed, {counts['removed']} removed",
        "",
        "| object | change |",
        "|---|---|",
        *(f"| `{c.key}` | {c.status} |" for c in changes),
        "",
    ]
    for change in changes:
        fence = "````" if "```" in change.patch else "```"
        lines += [
            f"<details><summary><code>{change.key}</code> ({change.status})</summary>",
            "",
            f"{fence}diff",
            change.patch.rstrip("\n"),
            fence,
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines)


def checkout(fleet_path: Path, ref: str, into: Path) -> Path:
    """The fleet as it was at git `ref`, extracted into `into`; returns the fleet path there."""
    fleet_path = fleet_path.resolve()
    start = fleet_path if fleet_path.is_dir() else fleet_path.parent

    def git(where: Path, *args: str) -> bytes:
        proc = subprocess.run(["git", "-C", str(where), *args], capture_output=True, check=False)
        if proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["git failed"]
            raise ValidationError.at(Location(), f"git {args[0]} {ref!r}: {message[0]}")
        return proc.stdout

    top = Path(git(start, "rev-parse", "--show-toplevel").decode().strip())
    archive = git(top, "archive", "--format=tar", ref)  # from the top: the whole tree, not a subdir
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / fleet_path.relative_to(top)


def temporary_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="skipper-diff-")
