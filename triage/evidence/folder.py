"""A folder tree as evidence: walked through directory descriptors, never changed.

- Every folder and file is opened relative to its parent folder's descriptor (openat-style),
  one name at a time, so a path longer than PATH_MAX (4,096 bytes on Linux) is read like any
  other and no symbolic link is followed on the way down (each step is O_NOFOLLOW), even if a
  folder is swapped for a link after the walk.
- Folders and files are opened with O_NOATIME (where the OS allows it) and listed through
  their descriptor, so neither files nor directories get new access times.
- A file is opened non-blocking and checked to be a regular file after opening (fstat), so a
  file swapped for a pipe or device after the walk is recorded, not waited on.
- Symbolic links are recorded (with their target) and never followed: a link that points outside
  the source cannot pull in other data, and a link inside it is ingested at its real path anyway.
- A directory reached twice (bind mounts, hard-linked directories) is recorded as a `loop` and not
  descended again.

An entry's ref is `Ref("folder", (root, names, dev, ino))`: the SOURCE folder's absolute path,
the name components below it (bytes-faithful strings), and the identity seen at the walk.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from triage.evidence.base import (CLOEXEC, NOFOLLOW, Container, Entry, Limits, Probe, Ref,
                                  Sample, _final, _open_noatime, open_evidence)
from triage.evidence.labels import escape_component

NAME = "folder"
DESCRIPTION = "a folder tree (a mounted or exported device, a phone extraction's folder)"
PRIORITY = 10

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW | CLOEXEC
# Folder descriptors an opener keeps (a walk holds one per level of the current path): far
# below the usual 1,024-descriptor limit, and deeper than any real device's tree.
KEEP_OPEN = 128


def sniff(probe: Probe) -> bool:
    return probe.is_folder


def root(path: Path) -> Container:
    """The container for a folder given as SOURCE."""
    st = os.stat(path)
    return Container(label="", ref=Ref(NAME, (str(path), (), st.st_dev, st.st_ino)))


def file_ref(path: Path) -> Ref:
    """The ref of one file given as SOURCE (an archive, an image): a name in its folder."""
    st = os.stat(path, follow_symlinks=False)
    return Ref(NAME, (str(path.parent), (path.name,), st.st_dev, st.st_ino))


class DirectoryOpener:
    """Opens folders below `root` one name at a time, keeping the descriptors of the last folder
    and its ancestors, so a depth-first walk opens each folder once and never passes a path
    longer than one name to the kernel.

    At most `keep` ancestors stay open (a hostile tree thousands of folders deep must not run
    the process out of descriptors); folders deeper than that are reached from the deepest one
    kept, one name at a time.
    """

    def __init__(self, root: str, keep: int | None = None) -> None:
        self.root = root
        self.keep = KEEP_OPEN if keep is None else keep
        self._names: tuple[str, ...] = ()
        self._fds: list[int] = []  # _fds[i] is the folder _names[:i]
        self._tail: int | None = None  # a folder deeper than `keep`, opened for the last call

    def open(self, names: tuple[str, ...]) -> int:
        """A descriptor of the folder root/names, owned by the opener (valid until the next
        call or close())."""
        self._close_tail()
        if not self._fds:
            self._fds.append(_open_noatime(self.root, _DIR_FLAGS))
        common = 0
        limit = min(len(names), len(self._names))
        while common < limit and names[common] == self._names[common]:
            common += 1
        while len(self._fds) > common + 1:
            os.close(self._fds.pop())
        self._names = names[: len(self._fds) - 1]
        while len(self._fds) - 1 < len(names) and len(self._fds) <= self.keep:
            name = names[len(self._fds) - 1]
            self._fds.append(_open_noatime(name, _DIR_FLAGS, dir_fd=self._fds[-1]))
            self._names = names[: len(self._fds) - 1]
        if len(self._fds) - 1 == len(names):
            return self._fds[-1]
        fd = self._fds[-1]
        try:
            for name in names[len(self._fds) - 1:]:
                nxt = _open_noatime(name, _DIR_FLAGS, dir_fd=fd)
                if fd != self._fds[-1]:
                    os.close(fd)
                fd = nxt
        except BaseException:
            if fd != self._fds[-1]:
                os.close(fd)
            raise
        self._tail = fd
        return fd

    def _close_tail(self) -> None:
        if self._tail is not None:
            os.close(self._tail)
            self._tail = None

    def close(self) -> None:
        self._close_tail()
        for fd in self._fds:
            os.close(fd)
        self._fds, self._names = [], ()


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def entries(container: Container, limits: Limits) -> Iterator[Entry]:
    assert container.ref is not None and container.ref.source == NAME
    root_path, base, dev, ino = container.ref.key
    opener = DirectoryOpener(root_path)
    visited = {(dev, ino)}
    prefix = "".join(escape_component(n) + "/" for n in base)
    stack: list[tuple[tuple[str, ...], str]] = [(tuple(base), prefix)]
    try:
        while stack:
            names, rel = stack.pop()
            try:
                fd = opener.open(names)
                with os.scandir(fd) as it:
                    items = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                yield _final(rel.rstrip("/") or ".", "unreadable",
                             f"cannot list folder: {exc.strerror or exc}")
                continue
            subdirs = []
            for item in items:
                path = rel + escape_component(item.name)
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError as exc:
                    yield _final(path, "unreadable", f"cannot stat: {exc.strerror}")
                    continue
                mode = st.st_mode
                if stat.S_ISLNK(mode):
                    try:
                        target = escape_component(os.readlink(item.name, dir_fd=fd))
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
                        subdirs.append((names + (item.name,), path + "/"))
                elif stat.S_ISREG(mode):
                    yield Entry(path=path, size=st.st_size, mtime=st.st_mtime,
                                atime=st.st_atime, ctime=st.st_ctime, depth=container.depth,
                                ref=Ref(NAME, (root_path, names + (item.name,), st.st_dev,
                                               st.st_ino)))
                else:
                    yield _final(path, "special", "device, socket or pipe; not read", st)
            stack.extend(reversed(subdirs))
    finally:
        opener.close()


def root_entries(path: Path, limits: Limits) -> Iterator[Entry]:
    """A folder given as SOURCE is listed, not recorded as an item itself."""
    return entries(root(path), limits)


def count_root(path: Path) -> int:
    """A quick pre-count for the progress bar's ETA (lists names only, reads no file)."""
    return sum(1 for _ in root_entries(path, Limits()))


# One opener per process for open_entry: workers are handed files folder by folder, so the
# folder of the previous file is usually the folder of the next.
_openers: dict[str, DirectoryOpener] = {}


def open_entry(ref: Ref, limits: Limits) -> BinaryIO:
    root_path, names, _dev, _ino = ref.key
    opener = _openers.get(root_path)
    if opener is None:
        release()
        opener = _openers[root_path] = DirectoryOpener(root_path)
    dir_fd = opener.open(tuple(names[:-1]))
    fd = open_evidence(names[-1], dir_fd=dir_fd)
    return os.fdopen(fd, "rb", buffering=0)


def release() -> None:
    for opener in _openers.values():
        opener.close()
    _openers.clear()


def sample(folder: Path) -> Sample:
    """A folder with nested folders, odd names, a link and an empty file."""
    from triage.demo.synthetic import encode, photo_like

    root_dir = folder / "folder-sample"
    (root_dir / "DCIM" / "Camera").mkdir(parents=True)
    (root_dir / "DCIM" / "Camera" / "IMG 0001.jpg").write_bytes(
        encode(photo_like(1, (64, 48)), "JPEG", 90, None))
    (root_dir / "notes.txt").write_bytes(b"hello")
    (root_dir / "empty.bin").write_bytes(b"")
    (root_dir / "x.zip!").mkdir()
    (root_dir / "x.zip!" / "inside.txt").write_bytes(b"a folder named like an archive")
    os.symlink("notes.txt", root_dir / "link.txt")
    return Sample(root_dir, {"DCIM/Camera/IMG 0001.jpg", "notes.txt", "empty.bin",
                             "x.zip\\x21/inside.txt", "link.txt"})
