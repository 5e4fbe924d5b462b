"""A folder tree as evidence: walked through directory descriptors, never changed.

- Folders are opened with O_NOATIME (where the OS allows it) and listed through their file
  descriptor, so neither files nor directories get new access times.
- Symbolic links are recorded (with their target) and never followed: a link that points outside
  the source cannot pull in other data, and a link inside it is ingested at its real path anyway.
- A directory reached twice (bind mounts, hard-linked directories) is recorded as a `loop` and not
  descended again.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from triage.evidence.base import NOFOLLOW, Entry, _final, _open_noatime, display


def count_folder(root: str) -> int:
    """A quick pre-count for the progress bar's ETA (lists names only, reads no file)."""
    return sum(1 for _ in walk_folder(root))


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def walk_folder(root: str) -> Iterator[Entry]:
    visited = {_identity(os.stat(root))}
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        directory, rel = stack.pop()
        try:
            fd = _open_noatime(directory, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW)
        except OSError as exc:
            yield _final(rel.rstrip("/") or ".", "unreadable", f"cannot list folder: {exc.strerror}")
            continue
        try:
            with os.scandir(fd) as it:
                items = sorted(it, key=lambda e: e.name)
            subdirs = []
            for item in items:
                path = rel + display(item.name)
                full = os.path.join(directory, item.name)
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError as exc:
                    yield _final(path, "unreadable", f"cannot stat: {exc.strerror}")
                    continue
                mode = st.st_mode
                if stat.S_ISLNK(mode):
                    try:
                        target = display(os.readlink(full))
                    except OSError:
                        target = "?"
                    yield _final(path, "link", f"symbolic link to {target!r}; not followed", st)
                elif stat.S_ISDIR(mode):
                    key = _identity(st)
                    if key in visited:
                        yield _final(path, "loop", "folder already visited (mount or link loop);"
                                     " not descended again", st)
                    else:
                        visited.add(key)
                        subdirs.append((full, path + "/"))
                elif stat.S_ISREG(mode):
                    yield Entry(path=path, size=st.st_size, mtime=st.st_mtime,
                                atime=st.st_atime, ctime=st.st_ctime, fs_path=full)
                else:
                    yield _final(path, "special", "device, socket or pipe; not read", st)
            stack.extend(reversed(subdirs))
        finally:
            os.close(fd)
