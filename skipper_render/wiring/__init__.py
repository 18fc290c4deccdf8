"""Wiring: the rendered objects checked against each other, as the controllers will (SPEC 4.1)."""

from __future__ import annotations

from skipper_render.generators.base import Context, Obj
from skipper_render.resolve import ResolvedCapability


def check_capability(cap: ResolvedCapability, objects: list[Obj], ctx: Context) -> None:
    """The objects of one capability."""


def check_fleet(objects: list[Obj], ctx: Context) -> None:
    """The fleet-level objects."""
