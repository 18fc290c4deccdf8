from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from skipper_render.serialize import to_json, to_yaml, to_yaml_document

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=True),
    st.text(),
    st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "n",
            "~",
            "null",
            "1e3",
            "0x1F",
            "1:20",
            "2026-03-27",
            "007",
            "-",
            "- a",
            ": x",
            "a: b",
            "a #b",
            "#x",
            "*a",
            "&a",
            "!t",
            "%x",
            "@x",
            "`x",
            "'q'",
            '"q"',
            "{x}",
            "[x]",
            "x\n",
            "\n",
            "a\n\nb\n\n",
            " lead\nx",
            "tab\tin",
            "trail \nx",
            ".inf",
            "=",
            "250m",
            "1Gi",
            "v1.0.0-beta4",
            "http://a:1/b",
            "a\r\nb",
            "\x85",
            "\u2028",
            "\ufeff",
        ]
    ),
)
keys = st.one_of(st.text(min_size=1), st.sampled_from(["on", "yes", "y", "1", "a.b/c", "true"]))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, documents, min_size=1, max_size=5))
def test_yaml_round_trips_through_pyyaml(doc: dict[str, Any]) -> None:
    text = to_yaml_document(doc)
    assert yaml.safe_load(text) == doc
    events = list(yaml.parse(text))
    assert not any(isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None) for e in events)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("yes", '"yes"'),
        ("y", '"y"'),
        ("On", '"On"'),
        ("1e3", '"1e3"'),
        ("2026-03-27", '"2026-03-27"'),
        ("007", '"007"'),
        ("250m", "250m"),
        ("v1.0.0-beta4", "v1.0.0-beta4"),
        ("http://otel:4317", "http://otel:4317"),
        ("statusCode >= 500", '"statusCode >= 500"'),
        ("", '""'),
        ("a\tb", '"a\\tb"'),
        (1.0e-05, "1.0e-05"),
        (True, "true"),
    ],
)
def test_scalar_style(value: Any, expected: str) -> None:
    assert to_yaml_document({"k": value}) == f"k: {expected}\n"


def test_multiline_strings_are_literal_blocks() -> None:
    text = to_yaml_document({"data": {"capability.yaml": "a: 1\nb:\n  - x\n"}})
    assert text == "data:\n  capability.yaml: |\n    a: 1\n    b:\n      - x\n"
    assert to_yaml_document({"k": "a\nb"}) == "k: |-\n  a\n  b\n"
    assert to_yaml_document({"k": "a\n\n"}) == "k: |+\n  a\n\n"


def test_keys_sorted_sequences_compact_no_wrapping() -> None:
    long = "x" * 300
    text = to_yaml([{"b": [{"z": 1, "a": 2}], "a": long}])
    assert text == f"---\na: {long}\nb:\n- a: 2\n  z: 1\n"


def test_json_is_a_v1_list() -> None:
    payload = json.loads(to_json([{"kind": "ConfigMap"}]))
    assert payload == {"apiVersion": "v1", "kind": "List", "items": [{"kind": "ConfigMap"}]}


@pytest.mark.parametrize("key", ["A\n", "1\n", "on\n", "x:\n"])
def test_trailing_newline_is_never_plain(key: str) -> None:
    assert yaml.safe_load(to_yaml_document({key: key})) == {key: key}
