"""The manifest text a one-capability render parses: other entries folded away, line for line.

A one-capability render needs, of every other capability entry, its name and what the roster
reads (`class`, `state`, `calls`). libyaml spends the same per event whether the builder keeps a
value or skips it, so on a 10,000-capability manifest the events of entries nobody reads cost
more than the whole render of the one that is read. `fold` rewrites the text before libyaml sees
it: each run of consecutive entries that provably hold nothing the roster reads becomes the run's
first key with an empty mapping (`cap-0001: {}`) and blank lines, so every line and column of what
remains is where the author wrote it. Anything it cannot prove stays as written.

Why the folded parse equals the partial build of the original (`load._Builder.partial`):
- A folded entry is *clean*: no line of it holds a quote, anchor, alias, tag, block-scalar
  indicator, comment, reserved character or tab, and each line's brackets nest and close on that
  line. So no multi-line construct (quoted or flow) starts, ends or passes through it, and a line
  at the entries' indent starts a new key. Its value is a one-line flow mapping `name: {...}` or a
  block mapping below `name:`. Its partial build is `{}` when none of its text names a roster
  field; otherwise each roster field among its own keys must be a plain scalar, a `[...]` list of
  them or a block list of `- plain` items, and `fold` returns their texts (`Folded.read`), which
  the loader turns into values with the builder's own scalar rules. Any other shape: as written.
- libyaml must find under the parent mapping of the folded text exactly the keys `fold` expects,
  each on its line: every run head and every entry left as written (`Folded.heads`). If the region
  was mistaken (a `capabilities:` line inside a block scalar, an entry swallowed by a quote that a
  kept entry opens), those keys are not where they are expected, and `load` parses the original.
- Line breaks other than `\\n` (`\\r`, NEL, LS, PS) and names that are not DNS labels send the whole
  text to the ordinary parse.
A region whose entries all have the most common shape (a block of `key: value` lines at one child
indent, what generated fleets and the SPEC's example look like) is read in bulk by three regex
passes (`_uniform`); every other region entry by entry (`_each`). Both give the same answer for
such a region (property-tested), the first without a Python loop over its lines.
What a folded entry is never checked for is its own YAML validity: a syntax error inside another
capability's entry is reported by the renders that read it (the whole fleet's, `validate`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from itertools import pairwise
from typing import NamedTuple

_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
# Bytes that can start or end a construct spanning lines, or make a line more than plain text.
_STRUCTURAL = b"[]{}\"'&*!|>%@`#\t\n"
_DELETE = bytes(b for b in range(256) if b not in _STRUCTURAL)
_HEAD = re.compile(r"([a-z][a-z0-9-]{0,62}) *:(?: +(\S.*)| *)$")  # an entry's key line, after its indent
_CHILD = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.-]*) *:(?: +(\S.*)| *)$")  # `key:` / `key: value`, after the indent
# A plain scalar read without libyaml: no indicator (a leading `-` only before a character: `- a`
# is a list), no `:`, no flow character, no comment; inner spaces allowed.
_PLAIN = re.compile(r"(?:[A-Za-z0-9_./~()$^=+]|-(?=[^ ]))(?:[A-Za-z0-9_./~()$^=+ -]*[A-Za-z0-9_./~()$^=+-])?")


Read = dict[str, str | list[str]]  # a folded entry's roster fields, as the plain texts written


class Folded(NamedTuple):
    text: str  # the folded text: as many lines as the original, folded runs blank
    heads: list[tuple[int, str]]  # (0-based line, name) of every key libyaml must find under the parent
    names: list[str]  # every entry's name, in order (folded ones come back as `{}` or their `read`)
    read: dict[str, Read]  # folded entries that set roster fields: those fields' plain texts


def fold(text: str, parent: tuple[str, str], whole: frozenset[str], fields: frozenset[str]) -> Folded | None:
    """`text` with the entries of the block mapping at `parent` (a top-level key's child) folded,
    except those in `whole`; an entry that sets one of `fields` is folded when they are plain
    scalars or lists of them (`Folded.read` has their texts). None: nothing provable."""
    if any(mark in text for mark in _BREAKS):
        return None
    bounds = _region(text, *parent)
    if bounds is None:
        return None
    start, end, indent = bounds
    region = text[start:end]
    first = next((line for line in _lines(region) if line.strip() and not line.lstrip().startswith("#")), None)
    if first is None:
        return None
    width = len(first) - len(first.lstrip(" "))
    if width <= indent:
        return None
    dirty = set(_dirty_lines(region))
    found = _uniform(region, width, fields, whole) if not dirty else None
    if found is None:  # (a uniform region has no stray line: its every line is a head, a child or blank)
        if _stray_line(region, indent, width):
            return None
        lines = region.split("\n")
        pad = " " * width
        heads = [i for i, line in enumerate(lines) if line.startswith(pad) and line[width : width + 1] not in "# "]
        heads.append(len(lines))
        found = _each(lines, heads, width, fields, whole, dirty, _lines_naming(region, fields))
    if found is None:
        return None
    folded, expected, names, read = found
    base = text.count("\n", 0, start)
    return Folded(text[:start] + folded + text[end:], [(base + h, n) for h, n in expected], names, read)


Found = tuple[str, list[tuple[int, str]], list[str], dict[str, Read]]  # region folded, heads, names, read


def _lines(text: str) -> Iterator[str]:
    """The lines of `text`, one at a time (`fold` looks at the first few of a large region)."""
    begin = 0
    while (stop := text.find("\n", begin)) >= 0:
        yield text[begin:stop]
        begin = stop + 1
    yield text[begin:]


def _each(
    lines: list[str],
    heads: list[int],
    width: int,
    fields: frozenset[str],
    whole: frozenset[str],
    dirty: set[int],
    naming: set[int],
) -> Found | None:
    """`fold`'s answer found entry by entry: (the region's lines folded, (line, name) of the keys
    libyaml must find, every entry's name, the roster fields read); None: nothing provable."""
    pad = " " * width
    out = list(lines)
    expected: list[tuple[int, str]] = []
    names: list[str] = []
    read: dict[str, Read] = {}
    in_run = False
    match_head = _HEAD.match
    for head, stop in pairwise(heads):
        match = match_head(lines[head], width)
        if match is None:
            return None
        name, value = match.groups()
        names.append(name)
        if stop == head + 1:  # the common one-line entry, `name: {...}`
            if head in dirty or value is None or value[:1] != "{" or value[-1:] != "}":
                found = None
            else:
                found = {} if head not in naming else _flow_entry(value, fields, True)
        else:
            found = _block_entry(lines, head, stop, value, fields, dirty, naming)
        if found is None or name in whole:
            expected.append((head, name))
            in_run = False
            continue
        if found:
            read[name] = found
        if in_run:
            out[head] = ""
        else:  # a run starts: its first key stays, with an empty mapping
            expected.append((head, name))
            out[head] = f"{pad}{name}: {{}}"
            in_run = True
        if stop > head + 1:
            out[head + 1 : stop] = [""] * (stop - head - 1)
    if len(set(names)) != len(names):  # a duplicate key: the ordinary parse reports it
        return None
    return "\n".join(out), expected, names, read


_KEY_LINE = r"[A-Za-z0-9_][A-Za-z0-9_.-]*+ *+:(?: ++\S[^\n]*+| *+)"  # `_CHILD`, as a pattern part


def _uniform(region: str, width: int, fields: frozenset[str], whole: frozenset[str]) -> Found | None:
    """`fold`'s answer, found in bulk, for a clean region whose entries all have the most common
    shape: a block mapping whose every line is a `key:` line at one child indent (the same for all
    entries) or deeper, no blank line but at the end, each roster field `field: plain` (or a
    `[...]` list for `calls`) with nothing deeper below it. One regular expression checks every
    entry, one finds every roster field. None: any other region, which `fold` reads entry by entry
    (`_each`, where each such entry gives the same answer: `_block_entry`).

    The regex engine costs ~60 instructions per character it scans, so the region is scanned
    three times (heads, shape, fields) and the rest is done with string methods."""
    offsets = [m.start() + 1 for m in re.finditer(rf"\n {{{width}}}[^ #\n]", region)]  # after a break
    if region[:width] == " " * width and region[width : width + 1] not in ("", " ", "#", "\n"):
        offsets.insert(0, 0)
    if not offsets:
        return None
    below = region.find("\n", offsets[0]) + 1  # the first entry's first line below its key
    child = _indent(region[below : region.find("\n", below) % (len(region) + 1)]) if below else 0
    if child <= width:
        return None
    pad = " " * child
    # Possessive: lines of each kind are told apart by their indent, so nothing is ever given back,
    # and the engine keeps no backtracking state per entry (~15 MiB at 10,000 entries without).
    entry = (
        rf" {{{width}}}[a-z][a-z0-9-]{{0,62}} *+:[ ]*+\n(?:{pad}{_KEY_LINE}(?:\n|\Z)(?:{pad} +\S[^\n]*+(?:\n|\Z))*+)++"
    )
    if re.compile(rf"(?:{entry})++(?:[ ]*+\n)*+[ ]*+").fullmatch(region, offsets[0]) is None:
        return None
    # each head line is `name:` and spaces (the shape says so)
    names = [region[at + width : region.find(":", at)].rstrip(" ") for at in offsets]
    if len(set(names)) != len(names):
        return None
    offsets.append(len(region))
    read = _read_fields(region, offsets, names, pad, fields)
    if read is None:
        return None
    kept = {names.index(name) for name in whole if name in names}  # entries kept as written
    starts = ({0} | {index + 1 for index in kept}) - kept  # the first entry of each run: its key stays
    pieces = [region[: offsets[0]]]  # what precedes the entries stays
    expected: list[tuple[int, str]] = []
    for index in sorted(kept | starts):
        if index >= len(names):
            continue
        expected.append((region.count("\n", 0, offsets[index]), names[index]))
        if index in kept:
            pieces.append(region[offsets[index] : offsets[index + 1]])
            continue
        stop = next((i for i in range(index + 1, len(names)) if i in kept), len(names))  # the run's end
        breaks = region.count("\n", offsets[index], offsets[stop])  # its lines: the key's, then blank ones
        pieces.append(f"{' ' * width}{names[index]}: {{}}" + "\n" * breaks)
    for name in whole:
        read.pop(name, None)
    return "".join(pieces), expected, names, read


def _read_fields(
    region: str, offsets: list[int], names: list[str], pad: str, fields: frozenset[str]
) -> dict[str, Read] | None:
    """The roster fields of a uniform region's entries (`offsets`: where each starts, then the
    region's end), by one regex pass; None when one is written in a shape not read here."""
    read: dict[str, Read] = {}
    wanted = "|".join(sorted(map(re.escape, fields))) or "(?!)"
    # a roster field's key line (the shape says: `field:`, then spaces and a value or nothing),
    # and whether a deeper line follows (then its value goes on there: entry by entry)
    field = re.compile(rf"\n{pad}({wanted}) *:([^\n]*)(?=(\n{pad} )?)")
    plain: dict[tuple[str, str], str | list[str] | None] = {}  # a fleet writes the same few values
    shared: dict[tuple[str, ...], Read] = {}  # entries that read alike share one Read (`load` reads it once)
    current = -1  # the entry whose fields are being read: its signature (fields as written) and Read
    signature: tuple[str, ...] = ()
    fs: Read = {}
    for match in field.finditer(region, offsets[0]):
        key, rest, deeper = match.groups()
        value = rest.strip(" ")
        if not deeper and (key, value) not in plain:
            plain[key, value] = _plain_or_list(value, key == "calls") if value else None
        found = None if deeper else plain[key, value]
        index = bisect.bisect_right(offsets, match.start()) - 1
        if index != current:
            if current >= 0:
                read[names[current]] = shared.setdefault(signature, fs)
            current, signature, fs = index, (), {}
        if found is None or key in fs:  # any other shape, or a duplicate: entry by entry
            return None
        fs[key] = found
        signature += (key, value)
    if current >= 0:
        read[names[current]] = shared.setdefault(signature, fs)
    return read


def _region(text: str, top: str, key: str) -> tuple[int, int, int] | None:
    """(start, end, indent of `key`) of the lines below `top:` / `key:`, both with no value on their line.

    Every pattern starts at a line break (the text is searched from "\n" + text's first line on):
    the regex engine then jumps from break to break instead of trying every character."""
    text = "\n" + text  # offsets below are one past the original's
    found = re.search(rf"\n{re.escape(top)} *:[ ]*(?:#[^\n]*)?(?=\n)", text)
    child = _line_at(text, found.end(), r"( +)") if found else None
    if found is None or child is None:
        return None
    indent = len(child.group(1))
    line = re.compile(rf"\n {{{indent}}}{re.escape(key)} *:[ ]*(?:#[^\n]*)?\n").search(text, found.end())
    if line is None or _line_at(text, found.end(), "", line.start() + 1):  # `key:` is another top key's
        return None
    after = _line_at(text, line.end() - 1, rf" {{0,{indent}}}")
    return line.end() - 1, after.start() if after else len(text) - 1, indent


def _line_at(text: str, pos: int, indent: str, endpos: int | None = None) -> re.Match[str] | None:
    """The first content line (not blank, not a comment) after `pos` (and before `endpos`) whose
    indent matches `indent`."""
    return re.compile(rf"\n{indent}[^ \n#]").search(text, pos, len(text) if endpos is None else endpos)


def _stray_line(region: str, outer: int, inner: int) -> bool:
    """A content line indented between the parent key and its entries: not a shape `fold` reads."""
    return inner - outer > 1 and _line_at("\n" + region, 0, rf" {{{outer + 1},{inner - 1}}}") is not None


def _dirty_lines(region: str) -> list[int]:
    """Indexes of the lines that are not clean: a structural character other than brackets that
    nest and close on the line. All lines at once: keep only those bytes, drop matched pairs."""
    marks = region.encode().translate(None, _DELETE)
    while True:
        shorter = marks.replace(b"{}", b"").replace(b"[]", b"")
        if shorter == marks:
            break
        marks = shorter
    if not marks.strip(b"\n"):
        return []
    return [index for index, left in enumerate(marks.split(b"\n")) if left]


def _lines_naming(region: str, words: frozenset[str]) -> set[int]:
    """Indexes of the lines of `region` on which one of `words` occurs."""
    found = []
    for word in words:
        at = region.find(word)
        while at >= 0:
            found.append(at)
            at = region.find(word, at + 1)
    out, line, last = set(), 0, 0
    for at in sorted(found):
        line += region.count("\n", last, at)
        last = at
        out.add(line)
    return out


def _flow_entry(value: str | None, fields: frozenset[str], named: bool) -> Read | None:
    """What the roster reads of a clean `{...}` value (its top-level `field: plain` items); None:
    not a flow mapping, or a roster field in a shape not read here."""
    if value is None or value[:1] != "{" or value[-1:] != "}":
        return None
    if not named:
        return {}
    out: Read = {}
    for item in _split_flow(value[1:-1]):
        if item.lstrip()[:1] == "?":
            return None  # an explicit key (`? class : x`) is a key like any other
        key, colon, rest = item.strip().partition(":")
        key = key.strip()
        if key not in fields:
            continue
        found = _plain_or_list(rest.strip(), key == "calls") if colon and rest[:1] == " " else None
        if found is None or key in out:
            return None  # `{class}`, `{class:x}`, a duplicate: what libyaml makes of it decides
        out[key] = found
    return out


def _split_flow(inner: str) -> list[str]:
    """The top-level items of a flow collection's inside (brackets nest on a clean line)."""
    items, depth, begin = [], 0, 0
    for index, char in enumerate(inner):
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(inner[begin:index])
            begin = index + 1
    items.append(inner[begin:])
    return [item for item in items if item.strip()]


def _block_entry(
    lines: list[str], head: int, stop: int, value: str | None, fields: frozenset[str], dirty: set[int], naming: set[int]
) -> Read | None:
    """An entry over several lines: clean, and a block mapping below its key (its roster fields
    read by `_block_fields`) or `{...}` followed by blank lines. None: parse it as written."""
    span = range(head, stop)
    if dirty and not dirty.isdisjoint(span):
        return None
    first = head + 1  # the first line below the key that is not blank (`stop`: none)
    while first < stop and not lines[first].strip():
        first += 1
    named = [index for index in span if index in naming] if naming else []
    if value is not None:
        return None if first < stop else _flow_entry(value, fields, bool(named))
    if first == stop:
        return None
    indent = _indent(lines[first])
    if _CHILD.match(lines[first], indent) is None:  # a block mapping below the key
        return None
    return _block_fields(lines, indent, stop, named, fields) if named else {}


def _block_fields(lines: list[str], indent: int, stop: int, named: list[int], fields: frozenset[str]) -> Read | None:
    """The roster fields among the keys (at `indent`) of the clean block mapping that ends before
    lines[stop] (`named`: the lines that name a field): `field: plain`, `calls: [plain, ...]`, or
    `calls:` over `- plain` items at one indent. None: a roster field in any other shape.

    A field name on another line is inside some other key's value (`exposes: {api: {state: x}}`,
    a list item): the partial build does not read those either."""
    out: Read = {}
    for index in named:
        line = lines[index]
        if line[indent : indent + 1] in (" ", "-", "") or line[:indent].strip():
            continue  # not at the keys' indent, or a list item
        match = _CHILD.match(line, indent)
        if match is None:
            return None
        key, value = match.groups()
        if key not in fields:
            continue
        if key in out:
            return None  # a duplicate: the partial parse reports it
        if value is not None:  # `field: value`: nothing of it may be on the lines below
            after = index + 1
            while after < stop and not lines[after].strip():
                after += 1
            below = lines[after] if after < stop else ""
            if below[indent : indent + 1] == " " or below[indent : indent + 2] == "- ":
                return None
            found = _plain_or_list(value.rstrip(" "), key == "calls")
        else:
            found = _block_list(_value_lines(lines, index + 1, stop, indent)) if key == "calls" else None
        if found is None:
            return None
        out[key] = found
    return out


def _value_lines(lines: list[str], begin: int, stop: int, indent: int) -> list[str]:
    """The lines of a key's value below it: deeper ones, and `- ` items at the key's indent."""
    out = []
    for line in lines[begin:stop]:
        if not line.strip():
            continue
        depth = _indent(line)
        if depth < indent or (depth == indent and line[indent : indent + 2] != "- "):
            break
        out.append(line)
    return out


def _block_list(below: list[str]) -> list[str] | None:
    """`- plain` items, one per line, at one indent; None for anything else (`calls:` alone is null)."""
    if not below:
        return None
    indent = _indent(below[0])
    items = []
    for line in below:
        text = line[indent:]
        if _indent(line) != indent or text[:2] != "- " or not _PLAIN.fullmatch(text[2:].strip()):
            return None
        items.append(text[2:].strip())
    return items


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _plain_or_list(text: str, listed: bool) -> str | list[str] | None:
    """A plain scalar's text, or with `listed` a flow list of them (`[a, b]`); None otherwise."""
    if listed and text[:1] == "[" and text[-1:] == "]":
        items = [item.strip() for item in text[1:-1].split(",")]
        if items == [""]:
            return []
        return items if all(_PLAIN.fullmatch(item) for item in items) else None
    return text if _PLAIN.fullmatch(text) else None
