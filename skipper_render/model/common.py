"""Shared pydantic building blocks: strict frozen base, DNS names, quantities, durations."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from skipper_render import quantity

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS_RE = re.compile(DNS1123_LABEL)
_UNSAFE = re.compile(r"[^a-z0-9-]+")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h|d))+$")


def quoted(value: Any) -> str:
    """A rejected value as messages quote it: repr, cut at 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Strict(BaseModel):
    """Our own formats: frozen, unknown fields are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


def is_dns_label(value: str, max_len: int = 63) -> bool:
    return len(value) <= max_len and bool(_DNS_RE.fullmatch(value))


def dns_part(text: str) -> str:
    """A path segment, namespace or import name as a DNS-1123 fragment (`Shared_Dir` -> `shared-dir`)."""
    return _UNSAFE.sub("-", text.lower()).strip("-") or "root"


def _dns_label(value: str) -> str:
    if not is_dns_label(value):
        raise ValueError(f"{quoted(value)} is not a DNS-1123 label (lower-case a-z, 0-9 and '-', at most 63)")
    return value


def _capability_name(value: str) -> str:
    if not is_dns_label(value, 52):
        raise ValueError(f"{quoted(value)} is not a DNS-1123 label of at most 52 characters")
    return value


def _quantity(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("a quantity must be a string or number, e.g. 250m or 512Mi")
    return quantity.canonical(value)


def _duration(value: Any) -> str:
    text = str(value)
    if isinstance(value, bool) or not _DURATION.fullmatch(text):
        raise ValueError(f"{quoted(value)} is not a duration (e.g. 500ms, 30s, 5m, 1h)")
    return text


def _label_key(value: str) -> str:
    if len(value) > 316 or not _LABEL_KEY.fullmatch(value):
        raise ValueError(f"{quoted(value)} is not a valid label key")
    return value


def _label_value(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if len(text) > 63 or not _LABEL_VALUE.fullmatch(text):
        raise ValueError(f"{quoted(text)} is not a valid label value (<= 63 of A-Z a-z 0-9 - _ .)")
    return text


def _plain_str(value: Any) -> str:
    if isinstance(value, dict | list) or value is None:
        raise ValueError("expected a plain string, number or boolean")
    return str(value).lower() if isinstance(value, bool) else str(value)


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
CapabilityName = Annotated[str, AfterValidator(_capability_name)]
Quantity = Annotated[str, BeforeValidator(_quantity)]
Duration = Annotated[str, BeforeValidator(_duration)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, BeforeValidator(_label_value)]
PlainStr = Annotated[str, BeforeValidator(_plain_str)]
Replicas = Annotated[int, Field(ge=0, le=10_000)]


class ObjectRef(Strict):
    kind: str
    name: str
