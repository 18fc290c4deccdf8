"""skipper-render: the GitOps render engine for Naftiko capability fleets.

    import skipper_render

    result = skipper_render.render("fleet", "prod", cluster="prod-eu")
    print(result.to_yaml())            # what `skipper render fleet --env prod --cluster prod-eu` prints
    for warning in result.warnings:
        print(warning)

Every failure is a `SkipperError` whose `.diagnostics` hold every problem found, each located
(`file:line:col: path: message`). Nothing else in the package is public API.
"""

from skipper_render.errors import Diagnostic, LoadError, Location, SkipperError, ValidationError
from skipper_render.render import RenderRequest, RenderResult, render, render_request, validate

__all__ = [
    "Diagnostic",
    "LoadError",
    "Location",
    "RenderRequest",
    "RenderResult",
    "SkipperError",
    "ValidationError",
    "render",
    "render_request",
    "validate",
]
