"""Media: what each kind of media (pictures today, video next) yields when decoded: status,
signals, derivatives, metadata. Handlers are found through the `triage.media` registry (entry
points, see `triage.plugins`); the protocol is in `triage.media.base`.
"""

from __future__ import annotations

from triage.media.base import DerivativeImage, MediaHandler, MediaInput, MediaOutcome
from triage.plugins import Registry

MEDIA: Registry[MediaHandler] = Registry(
    "triage.media", "media handler", required=("name", "kinds", "streams", "examine"))


def handler_for(kind: str) -> tuple[str, MediaHandler] | None:
    """The first registered handler (by priority, then name) that examines file kind `kind`."""
    return next(((name, h) for name, h in MEDIA.items() if kind in h.kinds), None)


def setup_handlers() -> None:
    """Prepare every handler's decoders (once per worker process)."""
    for handler in MEDIA:
        setup = getattr(handler, "setup", None)
        if setup is not None:
            setup()


__all__ = ["MEDIA", "DerivativeImage", "MediaHandler", "MediaInput", "MediaOutcome",
           "handler_for", "setup_handlers"]
