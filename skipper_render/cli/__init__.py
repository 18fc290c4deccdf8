"""`skipper`: options -> a frozen request -> the library. Stdout carries manifests only.

Exit codes: 0 ok, 1 render/validation error (messages on stderr as `file:line:col: path: message`,
nothing on stdout), 2 usage error. The command modules register themselves on `main`.
"""

from typing import NoReturn

from skipper_render import fastexit, startup
from skipper_render.cli import core, gateway, operations
from skipper_render.cli.base import main

__all__ = ["core", "gateway", "main", "operations", "run"]


def run() -> NoReturn:
    """The `skipper` executable: `main`, then a fast exit (see `skipper_render.fastexit`)."""
    startup.no_pydantic_plugins()
    fastexit.run(main)
