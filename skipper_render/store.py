"""The content-addressed bundle store: `.skipper/store/<sha256 hex>/` inside the fleet repository.

An entry holds a capability bundle (the spec and every file it imports) at the fleet-relative
paths they had when pinned, plus `bundle.json` naming the spec. A pinned environment renders from
the entry, so prod keeps the reviewed spec while `main` moves on. An entry whose content does not
hash to its name is an error. The digest is `CapabilitySpec.digest`: sha256 over the sorted
`<path relative to the spec's dir>\\t<sha256 of file>` lines.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
from pathlib import Path

from skipper_render.errors import Collector, Where
from skipper_render.load import FleetDir
from skipper_render.model.ikanos import CapabilitySpec
from skipper_render.spec import SpecReader

STORE = ".skipper/store"
INDEX = "bundle.json"


def entry_path(digest: str) -> str:
    return posixpath.join(STORE, digest.removeprefix("sha256:"))


def read(fleet: FleetDir, digest: str, where: Where, diags: Collector, strict: bool) -> CapabilitySpec | None:
    """The pinned bundle from the store, verified against its digest."""
    entry = entry_path(digest)
    index = fleet.root / entry / INDEX
    if not index.is_file():
        diags.error(where, f"pinned bundle {digest} is not in {STORE} (run skipper promote or skipper lock)")
        return None
    try:
        main = str(json.loads(index.read_text(encoding="utf-8"))["spec"])
    except (ValueError, KeyError, TypeError):
        diags.error(where, f"{entry}/{INDEX} is not a bundle index")
        return None
    spec = SpecReader(FleetDir(fleet.root / entry, fleet.limits), diags, strict).read(main, where)
    if spec is not None and spec.digest != digest:
        diags.error(where, f"store entry {entry} does not match its digest (found {spec.digest})")
        return None
    return spec


def write(fleet: FleetDir, spec: CapabilitySpec) -> str:
    """Store `spec`'s bundle (if it is not there yet); returns its digest."""
    digest = spec.digest
    target = fleet.root / entry_path(digest)
    if (target / INDEX).is_file():
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".entry.", dir=target.parent))
    try:
        for file in spec.files:
            path = staging / file.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(file.text, encoding="utf-8")
        (staging / INDEX).write_text(json.dumps({"spec": spec.main.path}, indent=2) + "\n", encoding="utf-8")
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return digest
