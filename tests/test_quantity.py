from __future__ import annotations

import pytest

from skipper_render.quantity import canonical


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("250m", "250m"),
        ("0.5", "500m"),
        (0.25, "250m"),
        ("1000m", "1"),
        (2, "2"),
        ("1500", "1500"),
        ("2000", "2k"),
        ("1024Mi", "1Gi"),
        ("2048Mi", "2Gi"),
        ("512Mi", "512Mi"),
        ("0.5Gi", "512Mi"),
        ("1.5Gi", "1536Mi"),
        ("100Ki", "100Ki"),
        ("1Ki", "1Ki"),
        ("0.5Ki", "512"),
        ("1e3", "1e3"),
        ("1M", "1M"),
        ("0", "0"),
        ("0.1m", "100u"),
    ],
)
def test_canonical_matches_the_api_server(given: str | int | float, expected: str) -> None:
    assert canonical(given) == expected


@pytest.mark.parametrize("bad", ["", "1.2.3", "10 Mi", "ten", "1Zi", "-"])
def test_invalid_quantities(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        canonical(bad)
