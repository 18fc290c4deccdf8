"""`skipper`: options -> a frozen request -> the library. Stdout carries manifests only.

Exit codes: 0 ok, 1 render/validation error (messages on stderr as `file:line:col: path: message`,
nothing on stdout), 2 usage error. The command modules register themselves on `main`.
"""

import atexit
import os
import sys
from typing import NoReturn

# Argo CD runs the plugin as a fresh process on every cache miss, so start-up time matters:
# pydantic's plugin discovery scans every installed distribution's entry points (~50 ms) and
# skipper-render uses no pydantic plugin. Set before pydantic is first imported.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from skipper_render.cli import core, delivery, operations
from skipper_render.cli.base import main

__all__ = ["core", "delivery", "main", "operations", "run"]


def run() -> NoReturn:
    """The `skipper` executable: `main`, then exit without tearing the interpreter down.

    A render leaves many small objects behind; freeing them one by one at exit costs ~15 ms for
    one capability and ~0.1 s at 1,000 (bench/README.md). Both streams are flushed and atexit hooks
    run first, so nothing written is lost; `main` itself (tests, embedding) exits normally.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `skipper render | head`: the reader left; say nothing more
        code = code or 1
    atexit._run_exitfuncs()
    os._exit(code or 0)
