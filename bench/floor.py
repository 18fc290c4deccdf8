"""The start-up floor of any CLI built on skipper-render's dependencies, for comparison rows.

Imports click and PyYAML and validates one trivial pydantic model (which is what makes pydantic
import its validator machinery, annotated_types and importlib.metadata). Renders nothing.
"""

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as skipper does (no plugin scan)

import click
import yaml
from pydantic import BaseModel


class Probe(BaseModel):
    x: int = 0


Probe.model_validate({"x": 1})
print(click.__name__, yaml.__name__)
