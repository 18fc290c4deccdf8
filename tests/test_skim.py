"""`skim.fold`: a one-capability render parses the manifest with other entries folded away, and
gets exactly what the partial build of the original gives (or the original is parsed instead)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from unittest import mock

import pytest
from helpers import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skipper_render import render, skim
from skipper_render.errors import LoadError
from skipper_render.inputs import only_members
from skipper_render.load import Document, Keep, parse_yaml

ROSTER = only_members("x").fields

HEADER = "apiVersion: fleet.naftiko.io/v1alpha1\nkind: Fleet\nmetadata: {name: f}\nspec:\n  namespace: f\n"
HEADER += "  capabilities:\n"
EXAMPLES = settings(
    max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def keep(*whole: str) -> Keep:
    return Keep(("spec", "capabilities"), frozenset(whole), ROSTER)


def unfolded(text: str, kept: Keep) -> Document:
    """What the partial build gives without folding (the reference)."""
    with mock.patch.object(skim, "fold", return_value=None):
        return parse_yaml(text.encode(), "m", keep=kept)


def test_runs_of_entries_fold_to_their_first_key_line_for_line() -> None:
    text = HEADER + textwrap.indent(
        textwrap.dedent(
            """\
              a: {spec: a.yml, env: {X: y}}
              b: {spec: b.yml, class: gold}
              c:
                spec: c.yml
                exposes:
                  api: {public: true, state: x}
                calls:
                - a
                - b
              d: {spec: d.yml, class: "gold"}
              e: {spec: e.yml}
              f:
                spec: f.yml
                calls: [a, 7]
                state: suspended
            environments: {prod: envs/prod.yaml}
            """
        ),
        "  ",
    )
    folded = skim.fold(text, ("spec", "capabilities"), frozenset({"e"}), ROSTER)
    assert folded is not None
    assert folded.text.count("\n") == text.count("\n")
    lines = folded.text.splitlines()
    assert lines[6:15] == ["    a: {}"] + [""] * 8  # a, b and c: one run
    assert lines[15] == '    d: {spec: d.yml, class: "gold"}'  # a quote: as written
    assert lines[16] == "    e: {spec: e.yml}"  # built whole
    assert lines[17:21] == ["    f: {}", "", "", ""]
    assert folded.names == ["a", "b", "c", "d", "e", "f"]
    assert [name for _, name in folded.heads] == ["a", "d", "e", "f"]
    assert folded.read == {
        "b": {"class": "gold"},
        "c": {"calls": ["a", "b"]},
        "f": {"calls": ["a", "7"], "state": "suspended"},
    }
    doc = parse_yaml(text.encode(), "m", keep=keep("e"))
    assert doc.data == unfolded(text, keep("e")).data
    assert doc.data["spec"]["capabilities"] == {
        "a": {},
        "b": {"class": "gold"},
        "c": {"calls": ["a", "b"]},  # not exposes.api.state: only the entry's own keys
        "d": {"class": "gold"},
        "e": {"spec": "e.yml"},
        "f": {"calls": ["a", 7], "state": "suspended"},  # 7 is a number, as libyaml reads it
    }


@pytest.mark.parametrize(
    "region",
    [
        # a quote opened by a kept entry swallows lines that look like entries
        '    a: "open\n    b: {spec: b.yml}\n    c: close"\n',
        '    a: "open\n    b: {spec: b.yml}\n  environments: "\n',
        # a flow sequence spanning lines
        "    a: [x,\n    b: {spec: b.yml},\n    c: z]\n",
        # a block scalar keeping its trailing blank lines
        "    a:\n      note: |+\n        text\n\n    b: {spec: b.yml}\n    c: {spec: c.yml}\n",
        # a quote that starts after a plain scalar holding a quote
        '    a:\n    - x,"y: "z\n      more"\n    b: {spec: b.yml}\n',
        # an anchor in a folded-looking entry, used by the one read whole
        "    a: &base {spec: a.yml}\n    b: {spec: b.yml}\n    only: *base\n",
        # comments, a tab, keys that are not DNS labels, a sequence entry, a null entry
        "    a: {spec: a.yml}  # note\n    b:\n      spec: b.yml\t\n",
        '    "a": {spec: a.yml}\n    b: {spec: b.yml}\n',
        "    A: {spec: a.yml}\n    b: {spec: b.yml}\n",
        "    a:\n    - spec\n    b: {spec: b.yml}\n",
        "    a:\n    b: {spec: b.yml}\n",
        "    a: plain\n    b: {spec: b.yml}\n",
        # line breaks YAML knows besides \\n
        "    a: {spec: a.yml}\r\n    b: {spec: b.yml}\r\n",
    ],
)
def test_what_folding_cannot_prove_is_parsed_as_written(region: str) -> None:
    text = HEADER + region + "    only: {spec: only.yml}\n" if "only" not in region else HEADER + region
    try:
        expected = unfolded(text, keep("only")).data
    except LoadError:
        pytest.skip("not YAML: nothing to compare")
    assert parse_yaml(text.encode(), "m", keep=keep("only")).data == expected


ENTRIES = st.sampled_from(
    [
        "    {n}: {{spec: {n}.yml}}\n",
        "    {n}: {{spec: {n}.yml, env: {{A: b}}, exposes: {{api: {{public: true}}}}}}\n",
        "    {n}: {{spec: {n}.yml, class: gold, calls: [a, only]}}\n",
        "    {n}:\n      spec: {n}.yml\n      env:\n        A: b\n",
        "    {n}:\n      spec: {n}.yml\n\n      replicas: 2\n",
        "    {n}:\n      spec: {n}.yml\n      class: dev\n      calls:\n      - only\n",
        "    {n}:\n      spec: {n}.yml  # why\n",
        "    # a comment between entries\n    {n}: {{spec: {n}.yml}}\n",
        '    {n}:\n      spec: {n}.yml\n      env: {{B: "quoted # not a comment", C: it\'s plain}}\n',
        "    {n}:\n      note: |\n        text ] with [ brackets\n        z: {{spec: q}}\n",
        "    {n}:\n      note: |+\n        kept\n\n",
        '    {n}: "open\n    z{n}: {{spec: q}}\n      close"\n',
        "    {n}: [a,\n    z{n}: {{spec: q}},\n    b]\n",
        '    {n}: "open\n    z{n}: {{spec: q}}\n    y{n}: close"\n',
        "    {n}: [a,\n    z{n}: {{spec: q}},\n    y{n}: b]\n",
        "    {n}: &a{n} {{spec: x.yml, class: dev}}\n",
        "    {n}: *ac0\n",
        "    {n}: {{<<: *ac0, spec: y.yml}}\n",
        "    {n}: plain\n",
        "    {n}:\n",
        "    {n}:\n    - spec\n",
        "    {n}: {{a: [1, {{b: c}}], d: e}}\n",
        "    {n}: x[0] {{y}}\n",
        "\n",
        # roster fields in every shape `skim` reads, and in shapes it leaves to libyaml
        "    {n}:\n      class: 123\n      state: null\n",
        "    {n}:\n      class: yes\n      state: a b\n",
        "    {n}:\n      calls:\n    z{n}: {{spec: q}}\n",
        "    {n}:\n      calls:\n        - a\n        - only\n",
        "    {n}:\n      calls:\n      - a\n        - b\n",
        "    {n}:\n      calls: []\n      spec: x\n",
        "    {n}:\n      class: dev\n      class: gold\n",
        "    {n}:\n      class:\n        gold\n",
        "    {n}:\n      subclass: x\n      classy: y\n      exposes:\n        api: {{state: z}}\n",
        "    {n}:\n      calls: [a,\n        b]\n",
        "    {n}:\n      calls:\n      - [a]\n",
        "    {n}: {{class: gold, calls: []}}\n",
        "    {n}: {{class}}\n",
        "    {n}: {{class:x, spec: y}}\n",
        "    {n}: {{calls: [only, {{a: b}}]}}\n",
        "    {n}: {{spec: s, exposes: {{api: {{class: x}}}}}}\n",
        "    {n}:\n      calls:\n      - - a\n",
        "    {n}:\n      calls:\n      - -\n",
        "    {n}:\n      class: - a\n",
        "    {n}:\n      class: ~\n      state: -x\n",
        "    {n}: {{calls: [a, - b]}}\n",
        "    {n}: {{? class : x}}\n",
        "    {n}:\n      ? class\n      : x\n",
        "    {n}:\n      class: .inf\n      calls: [a b, 0x1f, 1_000]\n",
    ]
)


@EXAMPLES
@given(st.lists(ENTRIES, min_size=1, max_size=12), st.integers(0, 12), st.booleans())
def test_folding_entries_of_every_shape_gives_the_partial_parse(shapes: list[str], only: int, tail: bool) -> None:
    names = ["only" if i == only else f"c{i}" for i in range(len(shapes))]
    text = HEADER + "".join(shape.format(n=name) for shape, name in zip(shapes, names, strict=True))
    text += "  environments: {prod: p.yaml}\n" if tail else ""
    try:
        expected = unfolded(text, keep("only"))
    except LoadError:
        return  # not YAML: the fleet's own render reports it
    got = parse_yaml(text.encode(), "m", keep=keep("only"))
    assert got.data == expected.data
    assert got.text.count("\n") == text.count("\n")


LINES = st.sampled_from(
    [
        "    {n}: {{spec: {n}.yml}}",
        "    {n}: {{spec: {n}.yml, env: {{A: b}}, exposes: {{api: {{public: true}}}}}}",
        "    {n}: {{spec: {n}.yml, class: gold, calls: [a, b]}}",
        "    {n}:",
        "      spec: {n}.yml",
        "      class: dev",
        "      state: suspended",
        "      calls:",
        "      - a",
        "      calls: [only, b]",
        "      env:",
        "        A: b",
        '        B: "quoted # not a comment"',
        "        C: it's plain",
        "      note: |",
        "        text ] with [ brackets",
        "      note: >-",
        '    {n}: "open',
        '      close"',
        "    {n}: [a,",
        "      b]",
        "    # a comment",
        "",
        "    {n}: &anchor {{spec: x.yml}}",
        "    {n}: *anchor",
        "    {n}: {{a: [1, {{b: c}}], d: e}}",
        "    {n}: x[0] {{y}}",
        "  environments: {{prod: p.yaml}}",
    ]
)


@EXAMPLES
@given(st.lists(st.tuples(LINES, st.sampled_from(["a", "b", "c", "d", "only"])), min_size=1, max_size=14))
def test_the_folded_parse_is_the_partial_parse(lines: list[tuple[str, str]]) -> None:
    text = HEADER + "".join(template.format(n=name) + "\n" for template, name in lines)
    try:
        expected = unfolded(text, keep("only"))
    except LoadError:
        return  # not YAML (or a duplicate key): the fleet's own render reports it
    got = parse_yaml(text.encode(), "m", keep=keep("only"))
    assert got.data == expected.data
    assert got.text.count("\n") == text.count("\n")


def test_positions_in_the_entry_read_whole_are_where_the_author_wrote_them() -> None:
    text = HEADER + "".join(f"    c{i}: {{spec: c{i}.yml}}\n" for i in range(50)) + "    only:\n      spec: x.yml\n"
    doc = parse_yaml(text.encode(), "m", keep=keep("only"))
    assert doc.text != text  # folded
    assert doc.loc(("spec", "capabilities", "only", "spec")).line == text.splitlines().index("      spec: x.yml") + 1


def test_a_one_capability_render_reads_whole_the_entries_the_overlay_patches(tmp_path: Path) -> None:
    fleet = tmp_path / "demo"
    shutil.copytree(FIXTURES / "valid" / "demo", fleet)
    prod = fleet / "environments" / "prod.yaml"
    prod.write_text(
        prod.read_text()
        + "    - {op: test, path: /capabilities/teams/spec,"
        + " value: capabilities/teams/microsoft-teams-sandbox.naftiko.yml}\n"
        + "    - {op: replace, path: /capabilities/shipyard/env/LOG_LEVEL, value: debug}\n"
    )
    whole = [d for d in render(fleet, "prod", cluster="prod-eu").documents if not d.fleet]
    for name in ("teams", "oauth-tools"):
        mine = {d.text for d in whole if f"naftiko.io/capability: {name}\n" in d.text}
        assert mine
        assert {d.text for d in render(fleet, "prod", cluster="prod-eu", capability=name).documents} == mine


# Block entries near the shape `skim._uniform` reads in bulk, and just outside it.
CHILDREN = st.sampled_from(
    [
        "      spec: {n}.yml",
        "      class: premium",
        "      class: gold  ",
        "      state: running",
        "      calls: [a, only]",
        "      calls: []",
        "      calls: [a b, 0x1f, 1_000]",
        "      class:",
        "      class: premium\n        continued",
        "      calls:\n      - a",
        "      calls:\n        - a",
        "      exposes:\n        api: {{public: true}}",
        "      env:\n        class: deep",
        "      classes: x",
        "      class : x",
        "      class:x",
        "      replicas: 2",
        "      class: - a",
        "      class: a b",
        "      state: -x",
        "      state: ~",
        "      calls: [a, - b]",
        "      calls: [a, {{b: c}}]",
        "     class: five",
        "        class: eight",
        "      ? class",
        "      plain words",
        "   stray: three",
        "",
    ]
)
BLOCKS = st.lists(st.lists(CHILDREN, min_size=1, max_size=4), min_size=1, max_size=8)
TAILS = st.sampled_from(["", "\n", "\n\n", "  environments: {prod: p.yaml}\n", "\n  environments: {prod: p.yaml}\n"])


@EXAMPLES
@given(BLOCKS, st.integers(0, 8), TAILS, st.booleans())
def test_the_bulk_reading_of_block_entries_equals_reading_them_one_by_one(
    blocks: list[list[str]], only: int, tail: str, uniform: bool
) -> None:
    """`_uniform` (every entry at once) answers exactly as `_each` (entry by entry) would, and the
    folded parse is the partial parse; `uniform` makes every entry the common shape first."""
    if uniform:
        blocks = [
            [c for c in children if c.startswith("      ") and c[6] not in " ?" and ":" in c] or ["      spec: x.yml"]
            for children in blocks
        ]
    names = ["only" if i == only else f"c{i}" for i in range(len(blocks))]
    body = "".join(
        f"    {name}:\n" + "".join(c.format(n=name) + "\n" for c in children)
        for name, children in zip(names, blocks, strict=True)
    )
    text = HEADER + (body + tail if tail.strip() or tail else body.rstrip("\n"))
    kept = keep("only")
    with mock.patch.object(skim, "_uniform", return_value=None):
        one_by_one = skim.fold(text, ("spec", "capabilities"), kept.whole, kept.fields)
    assert skim.fold(text, ("spec", "capabilities"), kept.whole, kept.fields) == one_by_one
    try:
        expected = unfolded(text, kept)
    except LoadError:
        return
    got = parse_yaml(text.encode(), "m", keep=kept)
    assert got.data == expected.data
    assert got.text.count("\n") == text.count("\n")


def test_a_uniform_fleet_is_read_in_bulk() -> None:
    """The shape every generated fleet and the SPEC's example have goes through `_uniform`."""
    entries = "".join(
        f"    c{i}:\n      spec: c{i}.yml\n      class: premium\n" + ("      calls: [c0]\n" if i % 3 else "")
        for i in range(30)
    )
    text = HEADER + entries + "    only:\n      spec: x.yml\n      exposes:\n        api: {public: true}\n"
    with mock.patch.object(skim, "_each", side_effect=AssertionError("read entry by entry")):
        folded = skim.fold(text, ("spec", "capabilities"), keep("only").whole, ROSTER)
    assert folded is not None and folded.read["c1"] == {"class": "premium", "calls": ["c0"]}
    assert folded.read["c0"] is folded.read["c3"]  # entries that read alike share their Read
    assert parse_yaml(text.encode(), "m", keep=keep("only")).data == unfolded(text, keep("only")).data
