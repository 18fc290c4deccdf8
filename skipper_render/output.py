"""Rendered objects on disk: one file per object, written atomically, and the staleness check.

`--output-dir DIR` owns DIR: the new tree is written beside it and swapped in only when complete,
so a failed render leaves the previous tree untouched and stale objects never linger.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from skipper_render.resources import resource_id
from skipper_render.serialize import to_yaml_document


def file_name(obj: dict[str, Any]) -> str:
    """`<namespace or _cluster>/<kind>[.<group>]_<name>.yaml`, unique per resource id."""
    group, kind, namespace, name = resource_id(obj)
    kind_part = kind.lower() + (f".{group}" if group else "")
    return f"{namespace or '_cluster'}/{kind_part}_{name}.yaml"


def files(objects: Iterable[dict[str, Any]]) -> dict[str, str]:
    return {file_name(obj): to_yaml_document(obj) for obj in objects}


def write_dir(objects: Iterable[dict[str, Any]], target: Path) -> int:
    rendered = files(objects)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for rel, text in rendered.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.chmod(0o755)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, old / "tree")
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(rendered)


def read_dir(target: Path) -> dict[str, str]:
    if not target.is_dir():
        return {}
    return {
        p.relative_to(target).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(target.rglob("*.yaml"))
        if p.is_file()
    }
