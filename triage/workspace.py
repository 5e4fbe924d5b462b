"""A lab workspace: one folder holding the database, the lab's config and derived files.

Commands find it from `--workspace`, then `TRIAGE_WORKSPACE`, then the current folder. The config
files are copied from the package defaults at `triage init`, so a lab edits its own copy and an
upgrade never overwrites local policy.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from triage.store import Store

DB_NAME = "triage.db"
ENV_VAR = "TRIAGE_WORKSPACE"


class WorkspaceError(Exception):
    pass


@dataclass
class Workspace:
    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def derivative_dir(self) -> Path:
        """Small upright copies of decoded pictures, for the classifier and review pages."""
        return self.root / "derivatives"

    def open_store(self) -> Store:
        return Store.open(self.db_path)

    def config(self, name: str) -> dict[str, Any]:
        """`config/NAME.toml` from the workspace, falling back to the packaged default."""
        local = self.config_dir / f"{name}.toml"
        if local.exists():
            return tomllib.loads(local.read_text(encoding="utf-8"))
        return default_config(name)


def default_config(name: str) -> dict[str, Any]:
    res = resources.files("triage.defaults").joinpath(f"{name}.toml")
    if not res.is_file():
        return {}
    return tomllib.loads(res.read_text(encoding="utf-8"))


def init_workspace(root: Path) -> Workspace:
    root = root.absolute()
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace(root)
    ws.config_dir.mkdir(exist_ok=True)
    for res in resources.files("triage.defaults").iterdir():
        if res.name.endswith(".toml") and not (ws.config_dir / res.name).exists():
            with resources.as_file(res) as src:
                shutil.copyfile(src, ws.config_dir / res.name)
    ws.derivative_dir.mkdir(exist_ok=True)
    Store.open(ws.db_path, create=True).close()
    return ws


def find_workspace(explicit: str | os.PathLike[str] | None = None) -> Workspace:
    for candidate, origin in ((explicit, "--workspace"), (os.environ.get(ENV_VAR), ENV_VAR),
                              (Path.cwd(), "the current folder")):
        if not candidate:
            continue
        root = Path(candidate)
        if (root / DB_NAME).exists():
            return Workspace(root.absolute())
        if origin != "the current folder":
            raise WorkspaceError(f"{root} (from {origin}) is not a triage workspace;"
                                 f" create one with `triage init {root}`")
    raise WorkspaceError("no workspace: pass --workspace DIR, set TRIAGE_WORKSPACE,"
                         " or run inside a folder made by `triage init`")
