"""The executables' start-up (`skipper_render.startup`): no pydantic plugin machinery is loaded,
validation still works, and a user who asks for pydantic plugins keeps them."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import FIXTURES

PROBE = f"""
import sys
from skipper_render import startup
startup.no_pydantic_plugins()
from skipper_render import render
result = render({str(FIXTURES / "valid" / "minimal")!r})
print(len(result.documents), "importlib.metadata" in sys.modules)
"""


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_executables_validate_without_loading_plugin_discovery() -> None:
    count, metadata = _probe().split()
    assert int(count) > 0
    assert metadata == "False"


def test_a_user_who_names_plugins_to_disable_keeps_discovery() -> None:
    count, metadata = _probe(PYDANTIC_DISABLE_PLUGINS="some-plugin").split()
    assert int(count) > 0
    assert metadata == "True"


def test_a_render_that_does_not_fork_loads_no_forking_machinery() -> None:
    """`parallel` imports `pickle` only where a fork is considered: a one-capability render (what
    Argo CD runs per Application) never forks, and neither does a small fleet."""
    probe = f"""
import sys
from skipper_render import render_request, RenderRequest
from pathlib import Path
render_request(RenderRequest(Path({str(FIXTURES / "valid" / "demo")!r}), "prod", capability="teams", jobs=0))
print("pickle" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
