"""The built-in video handler is the one for videos, and a stand-in registered in-process (as a
lab's package would be, under its own origin) leaves no trace once unregistered.

Before the fix, `unregister` removed only names registered with origin "code": the contract
test's toy video handler (origin "lab-triage") stayed for the rest of the run and took every
video (sorting before "video" by name)."""

from __future__ import annotations

from triage.media import MEDIA, handler_for


class StandIn:
    name = "a-stand-in"
    kinds = frozenset({"video"})
    streams = True
    description = "test stand-in"

    def examine(self, media, limits, want_derivatives):  # pragma: no cover - never called
        raise AssertionError


def test_a_stand_in_registered_under_a_lab_origin_is_removed_by_unregister() -> None:
    assert handler_for("video")[0] == "video"
    MEDIA.register("a-stand-in", StandIn(), origin="lab-example")
    try:
        assert handler_for("video")[0] == "a-stand-in"  # same priority, sorts first by name
    finally:
        MEDIA.unregister("a-stand-in")
    assert "a-stand-in" not in MEDIA
    assert handler_for("video")[0] == "video"
