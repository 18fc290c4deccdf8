from __future__ import annotations

import os
from pathlib import Path

import pytest

from skipper_render.errors import LoadError, Location
from skipper_render.load import FleetDir, Limits, parse_yaml


def test_positions_are_recorded_for_keys_and_items() -> None:
    doc = parse_yaml(b"a:\n  b: 1\n  c:\n    - x\n    - y\n", "f.yaml")
    assert doc.data == {"a": {"b": 1, "c": ["x", "y"]}}
    assert doc.positions[("a", "b")] == (2, 3)
    assert doc.positions[("a", "c", 1)] == (5, 7)
    assert str(doc.loc(("a", "c", 1, "missing"))) == "f.yaml:5:7"


def test_duplicate_keys_are_errors_with_position() -> None:
    with pytest.raises(LoadError) as err:
        parse_yaml(b"spec:\n  a: 1\n  a: 2\n", "m.yaml")
    assert str(err.value) == "m.yaml:3:3: spec.a: duplicate key 'a'"


def test_billion_laughs_is_refused() -> None:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*l{i - 1}"] * 9)
        lines.append(f"l{i}: &l{i} [{refs}]")
    with pytest.raises(LoadError, match="alias expansion exceeds"):
        parse_yaml("\n".join(lines).encode(), "bomb.yaml")


def test_small_aliases_and_merge_keys_work() -> None:
    doc = parse_yaml(b"base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", "f.yaml")
    assert doc.data["other"] == {"x": 1, "y": 3}


def test_depth_limit() -> None:
    deep = "a: " + "[" * 80 + "]" * 80
    with pytest.raises(LoadError, match="nesting deeper than 64"):
        parse_yaml(deep.encode(), "deep.yaml")


def test_size_limit() -> None:
    with pytest.raises(LoadError, match="over the 10-byte limit"):
        parse_yaml(b"a: 1234567890\n", "big.yaml", Limits(max_file_bytes=10))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"a: !!python/object:os.system x\n", "explicit YAML tag .!!python/object:os.system. is not allowed"),
        (b"a: !custom 1\n", "explicit YAML tag .!custom. is not allowed"),
        (b"a: [1\n", "YAML syntax error"),
        (b"a: 1\n---\nb: 2\n", "expected one YAML document, found several"),
        (b"", "found no document"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
        (b"? [a, b]\n: 1\n", "mapping keys must be plain scalars"),
    ],
)
def test_bad_yaml_is_refused(text: bytes, message: str) -> None:
    with pytest.raises(LoadError, match=message):
        parse_yaml(text, "bad.yaml")


def test_scalars_keep_yaml_types_but_timestamps_stay_text() -> None:
    doc = parse_yaml(b"i: 0x10\nf: 1.5\nb: true\nn: ~\nd: 2026-03-27\ns: '007'\non: x\n", "f.yaml")
    assert doc.data == {"i": 16, "f": 1.5, "b": True, "n": None, "d": "2026-03-27", "s": "007", "on": "x"}


def test_paths_are_confined(tmp_path: Path) -> None:
    (tmp_path / "fleet").mkdir()
    (tmp_path / "secret.yaml").write_text("a: 1\n")
    os.symlink(tmp_path / "secret.yaml", tmp_path / "fleet" / "link.yaml")
    os.symlink(tmp_path / "fleet" / "inside.yaml", tmp_path / "fleet" / "ok-link.yaml")
    (tmp_path / "fleet" / "inside.yaml").write_text("a: 1\n")
    fleet = FleetDir(tmp_path / "fleet")
    here = Location("naftiko.fleet.yaml", 3, 5)
    for ref, message in [
        ("../secret.yaml", "escapes the fleet directory"),
        ("a/../../secret.yaml", "escapes the fleet directory"),
        ("/etc/passwd", "must be relative"),
        ("link.yaml", "leaves the fleet directory through a symlink"),
    ]:
        with pytest.raises(LoadError, match=message) as err:
            fleet.resolve(ref, here)
        assert str(err.value).startswith("naftiko.fleet.yaml:3:5: ")
    assert fleet.resolve("./sub/../ok-link.yaml", here) == "ok-link.yaml"
    assert fleet.load("ok-link.yaml", here).data == {"a": 1}
