"""What the executables do first: start-up time matters because Argo CD starts the plugin as a
fresh process on every cache miss (bench/README.md), and kustomize starts the KRM function per build.

Only the console scripts call this; importing the library changes nothing in the process.
"""

from __future__ import annotations

import os
import sys
import types

_LOADER = "pydantic.plugin._loader"


def no_pydantic_plugins() -> None:
    """skipper-render uses no pydantic plugin. Discovery scans every installed distribution's entry
    points, and pydantic imports its loader (with `importlib.metadata`, `email`, `zipfile`: ~10 ms)
    on the first validation even when plugins are off. Unless the user's `PYDANTIC_DISABLE_PLUGINS`
    asks for some plugins, turn them off and give pydantic a loader that has none."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] not in ("__all__", "1", "true") or _LOADER in sys.modules:
        return
    loader = types.ModuleType(_LOADER, "No pydantic plugins (skipper_render.startup).")
    loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
    sys.modules[_LOADER] = loader
