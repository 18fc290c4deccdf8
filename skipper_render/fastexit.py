"""Exit a console script without tearing the interpreter down.

A render leaves many small objects behind; freeing them one by one at exit costs ~15 ms for one
capability and ~0.1 s at 1,000 (bench/README.md), paid on every Argo CD cache miss and every
kustomize build. Both streams are flushed and atexit hooks run first, so nothing written is lost.
Only the executables use this; `main` functions exit normally for tests and embedding.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable
from typing import NoReturn


def run(entry: Callable[[], object]) -> NoReturn:
    """Call `entry`, then leave with its exit code (SystemExit semantics: None 0, text 1)."""
    try:
        entry()
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
