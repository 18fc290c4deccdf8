"""The fast paths of issue 15 render exactly what the plain paths render: a one-capability render
reads the other entries for the roster only, and `--all-envs` reads each spec once."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from helpers import FIXTURES, MINIMAL_SPEC

from skipper_render import RenderRequest, render
from skipper_render.inputs import only_members
from skipper_render.load import parse_yaml
from skipper_render.spec import SpecReader
from skipper_render.workflows import tree

DEMO = FIXTURES / "valid" / "demo"

MANIFEST = """\
apiVersion: fleet.naftiko.io/v1alpha1
kind: Fleet
metadata: {name: anchors}
spec:
  namespace: anchors
  capabilities:
    first: &base
      spec: capabilities/hello.yml
      class: dev
      env: {GREETING: hi}
    second:
      <<: *base
      calls: [first]
      env: {GREETING: hello}
    third: {spec: capabilities/hello.yml, calls: [second], state: suspended, replicas: 2}
"""


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "hello.yml").write_text(MINIMAL_SPEC)
    (tmp_path / "naftiko.fleet.yaml").write_text(MANIFEST)
    return tmp_path


def test_the_roster_projection_keeps_what_the_roster_reads() -> None:
    text = textwrap.dedent(
        """\
        spec:
          capabilities:
            a: {spec: a.yml, class: small, calls: [b], env: {X: "1"}, exposes: {api: {public: true}}}
            b: {spec: b.yml, state: absent}
            c: {spec: c.yml, env: {Y: "2"}}
        """
    )
    full = parse_yaml(text.encode(), "m").data
    projected = parse_yaml(text.encode(), "m", keep=only_members("c")).data
    assert projected["spec"]["capabilities"] == {
        "a": {"class": "small", "calls": ["b"]},
        "b": {"state": "absent"},
        "c": full["spec"]["capabilities"]["c"],
    }


def test_anchors_in_skipped_entries_fall_back_to_a_whole_parse(fleet: Path) -> None:
    doc = parse_yaml((fleet / "naftiko.fleet.yaml").read_bytes(), "m", keep=only_members("second"))
    assert doc.data["spec"]["capabilities"]["second"]["class"] == "dev"  # merged from the skipped anchor


@pytest.mark.parametrize("name", ["first", "second", "third"])
def test_one_capability_renders_its_part_of_the_whole(fleet: Path, name: str) -> None:
    whole = [d for d in render(fleet).documents if not d.fleet]
    mine = {d.text for d in whole if f"naftiko.io/capability: {name}\n" in d.text}
    assert mine
    assert {d.text for d in render(fleet, capability=name).documents} == mine


def test_all_envs_reads_each_spec_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(DEMO, tmp_path / "fleet")
    reads: list[str] = []
    parse = SpecReader.parse

    def counted(self: SpecReader, rel: str, where: object) -> object:
        reads.append(rel)
        return parse(self, rel, where)  # type: ignore[arg-type]

    monkeypatch.setattr(SpecReader, "parse", counted)
    found = tree.render_tree(RenderRequest(tmp_path / "fleet", None))
    leaves = list(tree.leaves(tmp_path / "fleet"))
    assert len(leaves) > 2
    assert sorted(reads) == sorted(set(reads))  # every spec once, for every environment and cluster
    reads.clear()
    for env, cluster in leaves:  # the same files as separate renders, which read every spec each time
        separate = render(tmp_path / "fleet", env, cluster=cluster)
        prefix = "/".join(p for p in (env, cluster) if p)
        texts = {rel: text for rel, text in found.files.items() if rel.startswith(f"{prefix}/")}
        assert sorted(texts.values()) == sorted(d.text for d in separate.documents)
    assert len(reads) > len(set(reads))


def test_aliases_into_skipped_entries_and_quoted_fields_are_read() -> None:
    text = textwrap.dedent(
        """\
        spec:
          defaults: {env: &shared {A: "1"}}
          capabilities:
            a: {spec: a.yml, env: *shared, "calls": [b]}
            b: {spec: b.yml, 'class': dev}
            c: {spec: c.yml}
        """
    )
    projected = parse_yaml(text.encode(), "m", keep=only_members("c")).data
    assert projected["spec"]["capabilities"] == {"a": {"calls": ["b"]}, "b": {"class": "dev"}, "c": {"spec": "c.yml"}}
