"""The only place that knows output formats: canonical YAML streams and JSON v1 Lists.

The YAML emitter is our own because it is the hot path (PyYAML's C dumper alone takes about as long
as the whole render budget at 1,000 capabilities, see bench/README.md) and because the canonical form
is narrow: plain data only (dict with str keys, list, str, int, float, bool, None), keys sorted,
block style, no aliases, no line wrapping, multi-line strings as literal blocks. A string is written
plain only when every YAML 1.1 and 1.2 reader takes it back as that same string (no `yes`/`on`/`y`,
no numbers, no timestamps); otherwise it is double-quoted. Tests round-trip it through PyYAML.
The serializer never reorders objects; it receives them in their final order.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

import yaml

_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_./@+=~,;%()\-]*(?:[ :][A-Za-z0-9_./@+=~,;%()\-]+)*\Z")
_NUMBERISH = re.compile(r"^[-+]?(?:0[xob]|[0-9._]+(?:[eE][-+]?[0-9]+)?\Z|[0-9][0-9_]*(?::[0-5]?[0-9])+)")
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "nan", "inf"})
_DQ_ESCAPE = re.compile('[\x00-\x1f\x7f-\x9f"\\\\\u2028\u2029\ufeff\ufffe\uffff]')
_BLOCK_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_NAMED_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\", "\x00": "\\0"}
_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_ESCAPES.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _double_quoted(text: str) -> str:
    return '"' + _DQ_ESCAPE.sub(_escape, text) + '"'


class Emitter:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.plain_cache: dict[str, str] = {}

    def document(self, obj: dict[str, Any]) -> str:
        """One object as a YAML document body (no `---` line)."""
        self.out = []
        self.mapping(obj, 0)
        text = "".join(self.out)
        self.out = []
        return text

    def text(self, value: str) -> str:
        """A single-line string scalar: plain when unambiguous, else double-quoted."""
        cached = self.plain_cache.get(value)
        if cached is not None:
            return cached
        # Every implicit YAML type that starts with a letter is in _RESERVED, so only values that
        # start with a digit need PyYAML's resolver (timestamps, sexagesimal numbers, ...).
        plain = (
            _PLAIN.match(value) is not None
            and value.lower() not in _RESERVED
            and (
                not value[0].isdigit()
                or (
                    _NUMBERISH.match(value) is None
                    and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG  # type: ignore[no-untyped-call]
                )
            )
        )
        result = value if plain else _double_quoted(value)
        if len(self.plain_cache) < 100_000:
            self.plain_cache[value] = result
        return result

    def scalar(self, value: Any) -> str:
        if isinstance(value, str):
            return self.text(value)
        if value is True:
            return "true"
        if value is False:
            return "false"
        if value is None:
            return "null"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return _float(value)
        raise TypeError(f"cannot serialize {type(value).__name__}")

    def block(self, value: str, indent: int) -> str | None:
        """A multi-line string as a literal block scalar header + body, or None if it cannot be one."""
        if not value.strip() or _BLOCK_UNSAFE.search(value) or value.lstrip("\n")[:1] in (" ", "\t"):
            return None
        lines = value.split("\n")
        if value.endswith("\n"):
            lines.pop()
            chomp = "+" if value.endswith("\n\n") else ""
        else:
            chomp = "-"
        pad = " " * indent
        body = "".join(f"{pad}{line}\n" if line else "\n" for line in lines)
        return f"|{chomp}\n{body}"

    def value_after_key(self, value: str, indent: int) -> str:
        if "\n" in value:
            block = self.block(value, indent + 2)
            if block is not None:
                return " " + block
        return f" {self.text(value)}\n"

    def mapping(self, data: dict[str, Any], indent: int, first_prefix: str | None = None) -> None:
        # The hot path of every render: locals, the scalar cache consulted inline, strings first.
        pad = " " * indent
        out = self.out
        cache = self.plain_cache
        lead = pad if first_prefix is None else first_prefix
        for key in sorted(data):
            value = data[key]
            k = cache.get(key) or self.text(key)
            kind = type(value)
            if kind is str:
                if "\n" not in value:
                    out.append(f"{lead}{k}: {cache.get(value) or self.text(value)}\n")
                else:
                    out.append(f"{lead}{k}:{self.value_after_key(value, indent)}")
            elif kind is dict and value:
                out.append(f"{lead}{k}:\n")
                self.mapping(value, indent + 2)
            elif kind is int:
                out.append(f"{lead}{k}: {value}\n")
            elif isinstance(value, dict):
                if value:
                    out.append(f"{lead}{k}:\n")
                    self.mapping(value, indent + 2)
                else:
                    out.append(f"{lead}{k}: {{}}\n")
            elif isinstance(value, list):
                if value:
                    out.append(f"{lead}{k}:\n")
                    self.sequence(value, indent)
                else:
                    out.append(f"{lead}{k}: []\n")
            elif isinstance(value, str):
                out.append(f"{lead}{k}:{self.value_after_key(value, indent)}")
            else:
                out.append(f"{lead}{k}: {self.scalar(value)}\n")
            lead = pad

    def sequence(self, items: list[Any], indent: int) -> None:
        pad = " " * indent
        out = self.out
        cache = self.plain_cache
        for item in items:
            if type(item) is str and "\n" not in item:
                out.append(f"{pad}- {cache.get(item) or self.text(item)}\n")
            elif isinstance(item, dict) and item:
                self.mapping(item, indent + 2, first_prefix=f"{pad}- ")
            elif isinstance(item, list) and item:
                out.append(f"{pad}-\n")
                self.sequence(item, indent + 2)
            elif isinstance(item, dict):
                out.append(f"{pad}- {{}}\n")
            elif isinstance(item, list):
                out.append(f"{pad}- []\n")
            elif isinstance(item, str):
                out.append(f"{pad}-{self.value_after_key(item, indent)}")
            else:
                out.append(f"{pad}- {self.scalar(item)}\n")


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def to_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """A multi-document stream, each document introduced by `---`."""
    emitter = Emitter()
    for obj in objects:
        emitter.out.append("---\n")
        emitter.mapping(obj, 0)
    return "".join(emitter.out)


def to_yaml_document(obj: dict[str, Any]) -> str:
    return Emitter().document(obj)


def load_yaml_document(text: str) -> Any:
    """A rendered document read back (libyaml where PyYAML has it; a safe loader either way)."""
    return yaml.load(text, Loader=_READER)  # _READER: CSafeLoader or SafeLoader


_READER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_stream(documents: Iterable[str]) -> Iterator[str]:
    """YAML document bodies as one stream, each introduced by `---`."""
    for text in documents:
        yield "---\n"
        yield text


def json_document(obj: dict[str, Any]) -> str:
    """One object as one line of canonical JSON (keys sorted; the C encoder)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def json_stream(documents: Iterable[str]) -> Iterator[str]:
    """A `v1` List (what `kubectl get -o json` prints for several objects), one item per line."""
    yield '{"apiVersion":"v1","items":['
    for index, text in enumerate(documents):
        yield ("\n" if index == 0 else ",\n") + text
    yield '\n],"kind":"List"}\n'


def to_json(objects: Iterable[dict[str, Any]]) -> str:
    return "".join(json_stream(json_document(obj) for obj in objects))
