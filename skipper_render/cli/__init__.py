"""`skipper`: options -> a frozen request -> the library. Stdout carries manifests only.

Exit codes: 0 ok, 1 render/validation error (messages on stderr as `file:line:col: path: message`,
nothing on stdout), 2 usage error. The command modules register themselves on `main`.
"""

import os
from typing import NoReturn

# Argo CD runs the plugin as a fresh process on every cache miss, so start-up time matters:
# pydantic's plugin discovery scans every installed distribution's entry points (~50 ms) and
# skipper-render uses no pydantic plugin. Set before pydantic is first imported.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from skipper_render import fastexit
from skipper_render.cli import core, gateway, operations
from skipper_render.cli.base import main

__all__ = ["core", "gateway", "main", "operations", "run"]


def run() -> NoReturn:
    """The `skipper` executable: `main`, then a fast exit (see `skipper_render.fastexit`)."""
    fastexit.run(main)
