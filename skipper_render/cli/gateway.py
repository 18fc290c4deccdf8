"""gateway: the MCP gateway's routing table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from skipper_render.cli.base import (
    PATH_ARG,
    main,
    render_or_fail,
)
from skipper_render.errors import Collector
from skipper_render.render import RenderRequest


@main.group("gateway")
def gateway_group() -> None:
    """The fleet's MCP gateway."""


@gateway_group.command("tools")
@PATH_ARG
@click.option("--env", "env", help="Environment (required when the fleet declares environments).")
@click.option("--cluster", help="Cluster of a multi-cluster environment.")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def gateway_tools(path: Path, env: str | None, cluster: str | None, fmt: str) -> None:
    """The MCP gateway's routing table: exposed tool -> capability, namespace, port."""
    from skipper_render.generators import Context
    from skipper_render.generators.mcp_gateway import routing_table

    result = render_or_fail(RenderRequest(path, env, cluster=cluster))
    rows = routing_table(Context(result.fleet, "kubernetes", Collector()))
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    header = ("TOOL", "CAPABILITY", "NAMESPACE", "PORT")
    table = [header, *((r["tool"], r["capability"], r["namespace"], str(r["port"])) for r in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")
