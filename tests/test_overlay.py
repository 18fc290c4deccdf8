from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skipper_render.errors import ValidationError
from skipper_render.load import parse_yaml
from skipper_render.overlay import apply_overlay, merge_patch

# RFC 7386 appendix A test vectors.
RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC7386)
def test_rfc7386_vectors(target: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(target, patch) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=15,
)
objects = st.dictionaries(st.text(max_size=3), json_values, max_size=4)


@given(objects, objects)
def test_merge_is_idempotent_and_pure(target: dict[str, Any], patch: dict[str, Any]) -> None:
    before = repr(target), repr(patch)
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once
    assert (repr(target), repr(patch)) == before


@given(objects)
def test_empty_patch_keeps_target_minus_nothing(target: dict[str, Any]) -> None:
    assert merge_patch(target, {}) == target


@given(objects, objects)
def test_patch_keys_win_and_nulls_delete(target: dict[str, Any], patch: dict[str, Any]) -> None:
    result = merge_patch(target, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in result
        elif not isinstance(value, dict):
            assert result[key] == value
    for key in set(target) - set(patch):
        assert result[key] == target[key]


def _docs(fleet: str, env: str) -> tuple[Any, Any]:
    return parse_yaml(fleet.encode(), "naftiko.fleet.yaml"), parse_yaml(env.encode(), "environments/prod.yaml")


def test_source_map_points_at_the_overlay_line_that_set_a_value() -> None:
    fleet, env = _docs(
        "spec:\n  namespace: a\n  capabilities:\n    x: {spec: x.yml, class: dev}\n    y: {spec: y.yml}\n",
        "spec:\n  merge:\n    capabilities:\n      x:\n        class: gold\n  patches:\n"
        "    - {op: replace, path: /capabilities/y, value: {spec: z.yml}}\n",
    )
    spec, smap = apply_overlay(fleet, env)
    assert spec["capabilities"] == {"x": {"spec": "x.yml", "class": "gold"}, "y": {"spec": "z.yml"}}
    assert str(smap.loc(("capabilities", "x", "class"))) == "environments/prod.yaml:5:9"
    assert str(smap.loc(("capabilities", "x", "spec"))) == "naftiko.fleet.yaml:4:9"
    assert str(smap.loc(("capabilities", "y", "spec"))) == "environments/prod.yaml:7:7"
    assert str(smap.loc(("namespace",))) == "naftiko.fleet.yaml:2:3"


def test_failed_patch_names_file_op_index_and_path() -> None:
    fleet, env = _docs(
        "spec:\n  capabilities: {}\n",
        "spec:\n  patches:\n    - {op: add, path: /namespace, value: a}\n"
        "    - {op: replace, path: /capabilities/nope/replicas, value: 3}\n",
    )
    with pytest.raises(ValidationError) as err:
        apply_overlay(fleet, env)
    message = str(err.value)
    assert message.startswith("environments/prod.yaml:4:7: spec.patches[1]: patch op 'replace'")
    assert "/capabilities/nope/replicas" in message
