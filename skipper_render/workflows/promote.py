"""Version pinning: `skipper promote` and `skipper lock` write `pins` into an environment overlay.

A pin holds the engine version and the bundle digest an environment renders now (its own pin, or
the working tree when it is unpinned); the bundle is copied into the store first. The overlay is
edited with ruamel.yaml's round-trip mode (`edit`), so comments, key order and quoting survive;
the edit is undone when the environment no longer renders with the new pins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from skipper_render import store
from skipper_render.errors import Location, ValidationError
from skipper_render.render import RenderRequest, locate, render_request
from skipper_render.workflows import edit, review


@dataclass(frozen=True)
class PinChange:
    overlay: Path
    pins: dict[str, tuple[str, str]]  # capability -> (engine version, bundle digest)
    diff: str


def current_pins(fleet: Path, env: str, capabilities: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """What `env` renders now for each capability, with every bundle written to the store."""
    result = render_request(RenderRequest(fleet, env))
    fleet_dir, _ = locate(fleet)
    out = {}
    for cap in result.fleet.capabilities:
        if capabilities is None or cap.name in capabilities:
            out[cap.name] = (cap.version, store.write(fleet_dir, cap.spec))
    missing = sorted(set(capabilities or []) - set(out))
    if missing:
        raise ValidationError.at(Location("naftiko.fleet.yaml"), f"{env} renders no capability {missing[0]!r}")
    return out


def _with_pins(text: str, pins: dict[str, tuple[str, str]]) -> str:
    data = edit.load(text)
    spec = data.setdefault("spec", CommentedMap())
    if spec.get("pins") is None:
        spec["pins"] = CommentedMap()
    for name in sorted(pins):
        engine, digest = pins[name]
        entry = CommentedMap([("engine", engine), ("spec", digest)])
        entry.fa.set_flow_style()
        spec["pins"][name] = entry
    return edit.dump(text, data)


def apply(fleet: Path, env: str, pins: dict[str, tuple[str, str]]) -> PinChange:
    overlay = edit.overlay_path(fleet, env)
    before = render_request(RenderRequest(fleet, env))
    with edit.edited(overlay, lambda text: _with_pins(text, pins)):
        after = render_request(RenderRequest(fleet, env))
    changes = review.compare(
        review.keyed(before.yaml_documents()), review.keyed(after.yaml_documents()), f"{env}-before", f"{env}-pinned"
    )
    return PinChange(overlay, pins, review.unified(changes))


def promote(fleet: Path, capability: str, source: str, target: str) -> PinChange:
    """Copy `source`'s effective version of `capability` into `target`'s pins.

    A capability the target environment does not render (absent there, or unknown) is refused:
    a pin would change nothing and hide the mistake."""
    rendered = {cap.name for cap in render_request(RenderRequest(fleet, target)).fleet.capabilities}
    if capability not in rendered:
        raise ValidationError.at(
            Location("naftiko.fleet.yaml", path=("capabilities", capability)),
            f"{target} does not render capability {capability!r} (absent or unknown there): nothing to promote to",
        )
    return apply(fleet, target, current_pins(fleet, source, [capability]))


def lock(fleet: Path, env: str) -> PinChange:
    """Pin every capability of `env` at what it renders now."""
    return apply(fleet, env, current_pins(fleet, env))
