"""Rendered diffs for review: two environments, the working tree against a git ref, or a directory.

Objects are compared one by one, keyed `<namespace>/<kind>[.<group>]_<name>` (the `--output-dir`
layout); across environments the namespace is left out of the key so `shipyard-dev/...` meets
`shipyard-prod/...`. Unified output is a patch; markdown is a PR comment with a summary table and
one collapsible diff per changed object.

A rendered directory is read without following anything out of it: a symlink, a FIFO or any file
that is not exactly a rendered document is a difference, reported by name and never by content
(a planted link to `/proc/self/environ` must not print a CI's secrets into a PR comment).
"""

from __future__ import annotations

import difflib
import os
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from skipper_render.errors import Location, ValidationError, shorten
from skipper_render.load import read_regular
from skipper_render.output import MARKER, MARKER_TEXT, file_name
from skipper_render.resources import Doc

_MAX_FILE = 64 * 1024 * 1024


@dataclass(frozen=True)
class Change:
    key: str
    status: str  # added | removed | changed
    patch: str


class Side:
    """One side of a comparison: key -> document text, plus entries that are no documents at all."""

    def __init__(self, documents: dict[str, str], foreign: dict[str, str] | None = None) -> None:
        self.documents = documents
        self.foreign = foreign or {}  # key -> why it is not a rendered document (never its content)


def keyed(documents: Iterable[tuple[Doc, str]], drop_namespace: bool = False) -> Side:
    """(doc, YAML text) pairs keyed as `--output-dir` names them."""
    out = {}
    for doc, text in documents:
        key = file_name(doc.rid).removesuffix(".yaml")
        if drop_namespace:
            key = key.split("/", 1)[1]
        out[key] = text
    return Side(out)


def from_dir(directory: Path) -> Side:
    """A rendered directory, read without following links; what is not a regular `.yaml` file of
    the layout (or the marker) is recorded as foreign, by name only."""
    documents: dict[str, str] = {}
    foreign: dict[str, str] = {}
    if os.path.islink(directory):
        return Side({}, {".": "the directory is a symlink (not followed)"})
    if not directory.is_dir():
        return Side({})

    def walk(folder: Path, rel: str) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            name = f"{rel}{entry.name}"
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                foreign[name] = "a symlink (not followed)"
            elif stat.S_ISDIR(mode):
                walk(Path(entry.path), f"{name}/")
            elif not stat.S_ISREG(mode):
                foreign[name] = "not a regular file"
            elif name == MARKER:
                if read_regular(Path(entry.path), name, Location(name), _MAX_FILE) != MARKER_TEXT.encode():
                    foreign[name] = "a marker file skipper-render did not write"
            elif not name.endswith(".yaml") or "/" not in name:
                foreign[name] = "not a rendered document (an extra file)"
            else:
                raw = read_regular(Path(entry.path), name, Location(name), _MAX_FILE)
                try:
                    documents[name.removesuffix(".yaml")] = raw.decode("utf-8")
                except UnicodeDecodeError:
                    foreign[name] = "not UTF-8 text"

    walk(directory, "")
    return Side(documents, foreign)


def compare(old: Side, new: Side, old_label: str, new_label: str) -> list[Change]:
    changes = []
    for key in sorted(set(old.documents) | set(new.documents)):
        before, after = old.documents.get(key), new.documents.get(key)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        if before is not None and after is not None and before.replace("\r\n", "\n") == after:
            changes.append(
                Change(key, status, f"{old_label}/{key}: line endings differ (CRLF, not what is rendered)\n")
            )
            continue
        patch = "".join(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                f"{old_label}/{key}" if before is not None else "/dev/null",
                f"{new_label}/{key}" if after is not None else "/dev/null",
            )
        )
        changes.append(Change(key, status, patch))
    for label, side in ((old_label, old), (new_label, new)):
        for key, why in sorted(side.foreign.items()):
            changes.append(Change(key, "foreign", f"{label}/{key}: {why}\n"))
    return changes


def unified(changes: list[Change]) -> str:
    return "".join(c.patch for c in changes)


def markdown(changes: list[Change], title: str, notes: dict[str, str] | None = None, radius: str = "") -> str:
    """A PR comment: the blast radius, a summary table (with a note per object, e.g. whether pods
    restart) and the diffs."""
    if not changes:
        return f"### {title}\n\nNo changes.\n"
    notes = notes or {}
    counts = {s: sum(1 for c in changes if c.status == s) for s in ("added", "changed", "removed", "foreign")}
    summary = f"{counts['added']} added, {counts['changed']} changed, {counts['removed']} removed"
    if counts["foreign"]:
        summary += f", {counts['foreign']} not rendered"
    lines = [f"### {title}", "", summary, ""]
    if radius:
        lines += ["**Blast radius**", "", radius.rstrip("\n"), ""]
    lines += ["| object | change | effect |", "|---|---|---|"]
    lines += [f"| `{c.key}` | {c.status} | {notes.get(c.key, '')} |" for c in changes]
    lines.append("")
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


def checkout(fleet_path: Path, ref: str, into: Path, flag: str = "--at") -> Path:
    """The fleet as it was at git `ref`, extracted into `into`; returns the fleet path there.

    The ref is read from git's object store (`git archive`), so uncommitted changes in the working
    tree do not matter; it is never taken for an option.
    """
    where = Location(flag)
    if not ref or ref.startswith("-") or "\0" in ref:
        raise ValidationError.at(where, f"{shorten(ref, 60)!r} is not a git revision")
    fleet_path = fleet_path.resolve()
    start = fleet_path if fleet_path.is_dir() else fleet_path.parent
    while not start.exists():
        start = start.parent

    def git(directory: Path, *args: str) -> bytes:
        try:
            proc = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, check=False)
        except FileNotFoundError:
            raise ValidationError.at(where, "git is not installed") from None
        if proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["git failed"]
            raise ValidationError.at(where, f"git {args[0]} {shorten(ref, 60)!r}: {shorten(message[0], 200)}")
        return proc.stdout

    top = Path(git(start, "rev-parse", "--show-toplevel").decode().strip())
    commit = git(top, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").decode().strip()
    archive = git(top, "archive", "--format=tar", "--end-of-options", commit)  # the whole tree, not a subdir
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / fleet_path.relative_to(top)


def temporary_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="skipper-git-")
