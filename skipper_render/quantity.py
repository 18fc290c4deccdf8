"""Kubernetes resource quantities in the API server's canonical form, and durations in seconds.

The API server rewrites `0.5` cpu to `500m` and `1024Mi` to `1Gi`; rendering the canonical form
keeps Argo CD from showing a permanent diff between git and the live object.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

_PATTERN = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))((?:[eE][+-]?\d+)|(?:[KMGTPE]i)|[numkMGTPE])?$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {exp: suffix for suffix, exp in _DECIMAL.items()}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration: str) -> float:
    """A validated duration (`500ms`, `1m30s`, `2h`) in seconds."""
    return sum(float(n) * _SECONDS[unit] for n, unit in _DURATION_PART.findall(duration))


@lru_cache(maxsize=4096)
def canonical(value: str | int | float) -> str:
    """Canonical text of a quantity; raises ValueError when `value` is not one."""
    text = str(value).strip()
    match = _PATTERN.fullmatch(text)
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 250m, 0.5, 512Mi, 1Gi)")
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix in _BINARY:
        amount = number * (1024 ** _BINARY[suffix])
        if amount == amount.to_integral_value() and abs(amount) >= 1024:
            return _binary(int(amount))
        return _decimal(amount, exponent_form=False)
    if suffix[:1] in ("e", "E"):
        return _decimal(number * (Decimal(10) ** int(suffix[1:])), exponent_form=True)
    return _decimal(number * (Decimal(10) ** _DECIMAL[suffix]), exponent_form=False)


def _binary(amount: int) -> str:
    power = 0
    while power < 6 and amount % 1024 == 0 and amount != 0:
        amount //= 1024
        power += 1
    suffix = next((s for s, p in _BINARY.items() if p == power), "")
    return f"{amount}{suffix}"


def _decimal(amount: Decimal, exponent_form: bool) -> str:
    if amount == 0:
        return "0"
    # Kubernetes keeps nano precision and rounds anything finer up.
    nanos = (amount * Decimal(10) ** 9).to_integral_value(rounding="ROUND_CEILING")
    exponent = -9
    while exponent < 18 and nanos % 1000 == 0:
        nanos //= 1000
        exponent += 3
    if exponent_form:
        return f"{nanos}e{exponent}" if exponent else str(nanos)
    return f"{nanos}{_DECIMAL_BY_EXP[exponent]}"
