"""Edits of an environment overlay that keep everything else of the file, written atomically.

`skipper promote`, `lock` and `failover` change a few values of a file people review. ruamel.yaml's
round-trip mode finds the values with their source positions; where a value already exists its
bytes are replaced in the original text, so nothing else of the file moves (comments, quoting,
flow style, indentation). The new text replaces the file in one rename, and is put back when the
fleet no longer renders with it.
"""

from __future__ import annotations

import io
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from skipper_render.errors import Location, SkipperError, ValidationError
from skipper_render.load import read_regular
from skipper_render.render import environments, locate


def overlay_path(fleet: Path, env: str) -> Path:
    """The overlay file of `env`, confined to the fleet directory."""
    envs = environments(fleet)
    if env not in envs:
        known = ", ".join(sorted(envs)) or "none"
        raise ValidationError.at(Location("naftiko.fleet.yaml"), f"unknown environment {env!r} (known: {known})")
    fleet_dir, _ = locate(fleet)
    return fleet_dir.root / fleet_dir.resolve(
        envs[env], Location("naftiko.fleet.yaml", path=("spec", "environments", env))
    )


def round_trip(text: str) -> YAML:
    """A ruamel round-trip loader/dumper set up to write like the file is written."""
    yaml = YAML()  # round-trip: comments, key order and quoting stay
    yaml.preserve_quotes = True
    yaml.width = 4096
    offset = _sequence_offset(text)
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    yaml.representer.add_representer(type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    return yaml


def _sequence_offset(text: str) -> int:
    """How far this file indents `- ` under its parent key (0 or 2, the two common styles)."""
    for before, line in itertools.pairwise(text.splitlines()):
        stripped = line.lstrip()
        if stripped.startswith("- ") and before.rstrip().endswith(":"):
            return max(0, len(line) - len(stripped) - (len(before) - len(before.lstrip())))
    return 0


def load(text: str) -> Any:
    return round_trip(text).load(text)


def dump(text: str, data: Any) -> str:
    out = io.StringIO()
    round_trip(text).dump(data, out)
    return out.getvalue()


def replace_scalar(text: str, line: int, column: int, old: str, new: str) -> str:
    """`text` with the scalar `old` at (0-based) `line`, `column` replaced by `new`, in the same
    style (plain, 'single' or "double" quoted); `new` needs no escaping (a word)."""
    lines = text.splitlines(keepends=True)
    current = lines[line]
    for quote in ("", "'", '"'):
        written = f"{quote}{old}{quote}"
        if current[column : column + len(written)] == written:
            lines[line] = current[:column] + f"{quote}{new}{quote}" + current[column + len(written) :]
            return "".join(lines)
    raise ValidationError.at(Location(), f"cannot edit {old!r} in place at line {line + 1}")


def read_text(path: Path) -> str:
    """An overlay to edit, line endings as they are. A symlink is refused (replacing it would turn
    the link into a file), and so is anything but a regular file."""
    if path.is_symlink():
        raise ValidationError.at(Location(path.name), "the overlay is a symlink: edit the file it points to")
    raw = read_regular(path, path.name, Location(path.name), 4 * 1024 * 1024)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError.at(Location(path.name), "the overlay is not UTF-8 text") from None


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, keeping its permission bits."""
    mode = os.stat(path).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def edited(path: Path, change: Callable[[str], str]) -> Iterator[tuple[str, str]]:
    """Write `change(text)` to `path`; put the old text back if the body raises a SkipperError."""
    before = read_text(path)
    after = change(before)
    write_atomic(path, after)
    try:
        yield before, after
    except SkipperError:
        write_atomic(path, before)  # leave the repository as it was
        raise
