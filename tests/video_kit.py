"""Real video files for the video tests (generated with PyAV's encoders; see triage.demo.video),
and vPDQ lists written in Meta's layout from them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from triage.cli.main import cli
from triage.demo.video import encode, reencode
from triage.media.video import frame_pdq
from triage.workspace import Workspace, init_workspace

__all__ = ["encode", "reencode", "every_frame_vpdq", "Cli", "files"]


def every_frame_vpdq(data: bytes) -> str:
    """The video's vPDQ file as Meta's `vpdq-hash-video` writes it: every frame, full size."""
    import av

    lines = []
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        rate = float(s.average_rate)
        for i, frame in enumerate(c.decode(s)):
            pdq, q = frame_pdq(frame)
            lines.append(f"{i},{q},{pdq},{i / rate:.3f}")
    return "\n".join(lines) + "\n"


class Cli:
    """A workspace and a CLI runner on it, for module-scoped fixtures (build once per module)."""

    def __init__(self, root: Path) -> None:
        self.workspace: Workspace = init_workspace(root)
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: tuple[int, ...] = (0,)) -> Result:
        result = self.runner.invoke(cli, ["-w", str(self.workspace.root), *args],
                                    catch_exceptions=False)
        assert result.exit_code in ok, result.output
        return result

    def config(self, name: str, text: str) -> None:
        """Append `text` to the workspace's config/NAME.toml."""
        path = self.workspace.root / "config" / f"{name}.toml"
        path.write_text(path.read_text() + "\n" + text)


def files(run: Callable[..., Result], device: str) -> dict[str, dict]:
    out = run("files", "--device", device, "--json").output
    return {r["path"]: r for r in (json.loads(ln) for ln in out.splitlines() if ln.strip())}
