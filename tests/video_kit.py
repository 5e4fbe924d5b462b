"""Real video files for the video tests (generated with PyAV's encoders; see triage.demo.video),
and vPDQ lists written in Meta's layout from them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from triage.cli.main import cli
from triage.demo.video import encode, every_frame_vpdq, reencode
from triage.workspace import Workspace, init_workspace

__all__ = ["encode", "reencode", "every_frame_vpdq", "Cli", "files"]


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
