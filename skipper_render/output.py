"""Rendered objects on disk: one file per object, swapped in whole, and never over what we did not write.

`--output-dir DIR` replaces DIR only when DIR is absent, empty, or carries the marker file an
earlier render left (`.skipper-render`). A file, a symlink, the fleet directory, an ancestor of
it, a filesystem root or a directory without the marker is refused before anything is touched.
The new tree is written into a staging directory beside DIR and exchanged with DIR in one
`renameat2(RENAME_EXCHANGE)` step (two renames where the OS has no exchange), so a reader sees the
old tree or the new one, never a mix. Each render holds an `flock` on its staging marker while it
runs: a second render into the same DIR fails at once with a message, and staging directories
whose owner died (`kill -9`) are recognised by their free lock and removed at the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from skipper_render.errors import Location, ValidationError
from skipper_render.resources import ResourceId

if TYPE_CHECKING:
    from skipper_render.render import RenderResult

MARKER = ".skipper-render"
MARKER_TEXT = "Written by skipper-render (skipper render --output-dir): replaced whole on every render.\n"
STAGING = ".skipper-staging-"
_YOUNG = 600  # seconds: a staging directory without its marker is left alone this long
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def file_name(rid: ResourceId) -> str:
    """`<namespace or _cluster>/<kind>[.<group>]_<name>.yaml`, unique per resource id."""
    group, kind, namespace, name = rid
    kind_part = kind.lower() + (f".{group}" if group else "")
    return f"{namespace or '_cluster'}/{kind_part}_{name}.yaml"


def files(result: RenderResult, split: bool = False) -> dict[str, str]:
    """Relative file name -> YAML document, for every rendered object; `split` puts the fleet-level
    objects under `fleet/` and the rest under `capabilities/` (one directory per Flux Kustomization)."""
    if not split:
        return {file_name(doc.rid): text for doc, text in result.yaml_documents()}
    return {
        f"{'fleet' if doc.fleet else 'capabilities'}/{file_name(doc.rid)}": text
        for doc, text in result.yaml_documents()
    }


def _refuse(target: Path, message: str) -> ValidationError:
    return ValidationError([*ValidationError.at(Location("--output-dir"), f"{target}: {message}").diagnostics])


def check_target(target: Path, fleet_root: Path) -> None:
    """Refuse any DIR whose replacement could destroy something skipper-render did not write."""
    if os.path.islink(target):
        raise _refuse(target, "is a symlink; give the directory itself (nothing was changed)")
    if target.parent == target:
        raise _refuse(target, "is a filesystem root (nothing was changed)")
    if target.exists() and not target.is_dir():
        raise _refuse(target, "is not a directory (nothing was changed)")
    real = Path(os.path.realpath(target))
    fleet = Path(os.path.realpath(fleet_root))
    if fleet == real or real in fleet.parents:
        what = "the fleet directory" if fleet == real else "an ancestor of the fleet directory"
        raise _refuse(target, f"is {what} (nothing was changed); render into a directory of its own")
    if target.is_dir() and any(target.iterdir()) and not _has_marker(target):
        raise _refuse(
            target,
            f"holds files skipper-render did not write (no {MARKER} marker); "
            "remove them or choose an empty or new directory (nothing was changed)",
        )


def _has_marker(directory: Path) -> bool:
    marker = directory / MARKER
    return marker.is_file() and not marker.is_symlink()


def write_dir(result: RenderResult, target: Path) -> int:
    return write_files(files(result), target, result.root)


def write_files(rendered: Mapping[str, str | bytes], target: Path, fleet_root: Path) -> int:
    """Replace DIR with exactly these files (relative path -> text), or refuse and change nothing."""
    target = Path(os.path.abspath(target))
    check_target(target, fleet_root)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refuse(target, f"cannot create its parent directory: {exc.strerror}") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise _refuse(target, "its parent directory is not writable (nothing was changed)")
    _remove_stale_staging(target)
    with _staging(target) as staging:
        made: set[Path] = set()
        for rel, text in rendered.items():
            path = staging / rel
            if path.parent not in made:
                path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_bytes(text.encode() if isinstance(text, str) else text)
        if target.is_dir() and any(target.iterdir()):
            with _locked_marker(target):
                _exchange(staging, target)  # staging now holds the previous tree
        else:
            try:  # an absent DIR, or an empty one (rename replaces an empty directory)
                os.rename(staging, target)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    raise _refuse(target, "was filled by someone else during the render; not replaced") from None
                raise
    return len(rendered)


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A staging directory beside DIR holding a locked marker; removed on the way out."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING}", dir=target.parent))
    fd = os.open(staging / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, MARKER_TEXT.encode())
        staging.chmod(0o755)
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after a swap: the previous tree
        os.close(fd)


@contextlib.contextmanager
def _locked_marker(target: Path) -> Iterator[None]:
    """Hold DIR's marker lock: a concurrent render into DIR fails instead of racing this one."""
    marker = target / MARKER
    try:
        fd = os.open(marker, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        raise _refuse(target, f"lost its {MARKER} marker during the render; not replaced") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refuse(target, "another skipper render is writing it right now; try again") from None
        if os.fstat(fd).st_ino != os.lstat(marker).st_ino:  # swapped while we waited
            raise _refuse(target, "was replaced by another render meanwhile; try again")
        yield
    finally:
        os.close(fd)


def _exchange(staging: Path, target: Path) -> None:
    """Swap two directories in one step (Linux renameat2); two renames elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(staging), _AT_FDCWD, os.fsencode(target), _RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(target))
    with _staging(target) as old:  # locked like any staging dir, removed on the way out
        os.rename(target, old / "tree")
        os.rename(staging, target)


def _remove_stale_staging(target: Path) -> None:
    """Staging directories of DIR whose render is gone (their marker lock is free)."""
    prefix = f".{target.name}{STAGING}"
    for entry in target.parent.iterdir():
        if not entry.name.startswith(prefix) or entry.is_symlink() or not entry.is_dir():
            continue
        marker = entry / MARKER
        try:
            fd = os.open(marker, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:  # no marker yet: a render that just began, or one killed in that instant
            if time.time() - entry.lstat().st_mtime < _YOUNG:
                continue
            fd = -1
        try:
            if fd >= 0:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(entry, ignore_errors=True)
        except BlockingIOError:
            continue  # a live render's staging
        finally:
            if fd >= 0:
                os.close(fd)
