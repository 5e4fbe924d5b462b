"""The evidence-source registry's contract: every registered source leaves the evidence as it
found it and accounts for every entry; a source from a lab's own package is used with no edit
inside triage/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import by_path, files_json, jpeg, write
from tests.test_archives import make_zip
from tests.test_evidence_and_dedup import snapshot
from triage.evidence import SOURCES
from triage.workspace import init_workspace


@pytest.mark.parametrize("name", SOURCES.names())
def test_every_source_leaves_evidence_unchanged_and_accounts_for_every_entry(
        name, tmp_path, triage):
    module = SOURCES.get(name)
    assert module.NAME == name, "a source's NAME must be its entry-point name (refs carry it)"
    assert hasattr(module, "sample"), f"source {name!r} provides no sample() for this test"
    evidence = tmp_path / "evidence"
    sample = module.sample(evidence)
    for p in evidence.rglob("*"):  # old atimes make any read that touches atime visible
        if not p.is_symlink():
            os.utime(p, (1_600_000_000, 1_600_000_000))
    before = snapshot(evidence)
    triage("ingest", str(sample.path), "--case", "C", "--device", "D", "--workers", "2")
    rows = files_json(triage, "D")
    labels = [r["path"] for r in rows]
    assert len(labels) == len(set(labels)), "two entries share a row"
    assert set(labels) == sample.labels  # one row per entry, none lost, none invented
    for row in rows:
        assert row["status"] == "ok" or row["reason"], row  # every flag says why
    assert snapshot(evidence) == before  # bytes, mtime, atime, ctime, mode


# A lab's own source, in its own package: cpio "newc" archives (Android boot ramdisks, initramfs).
CPIO_SOURCE = '''
"""cpio "newc" archives, as a lab would add them."""
import io
from pathlib import Path

from triage.evidence.base import ContainerError, Entry, Ref, Sample
from triage.evidence.labels import Labeller
from triage.evidence.registry import open_ref
from triage.evidence.streams import Span

NAME = "cpio"
DESCRIPTION = "cpio archive, newc format (Android ramdisks, initramfs)"
PRIORITY = 50
MAGIC = b"070701"


def sniff(probe):
    return probe.head.startswith(MAGIC)


def entries(container, limits):
    stream = container.open()
    label = Labeller(container.label)
    pos = 0
    while True:
        header = stream.read(110)
        if len(header) < 110 or not header.startswith(MAGIC):
            raise ContainerError(f"cpio header damaged at byte {pos}")
        fields = [int(header[6 + 8 * i: 14 + 8 * i], 16) for i in range(13)]
        mode, mtime, size, namesize = fields[1], fields[5], fields[6], fields[11]
        name_pad = (-(110 + namesize)) % 4
        name = stream.read(namesize + name_pad)[: namesize - 1].decode("utf-8", "surrogateescape")
        data_at = pos + 110 + namesize + name_pad
        if name == "TRAILER!!!":
            return
        if mode & 0o170000 == 0o100000:
            yield Entry(path=label(name), size=size, mtime=float(mtime), depth=container.depth + 1,
                        ref=Ref(NAME, (data_at, size, name), container.ref))
        stream.read(size + (-size) % 4)
        pos = data_at + size + (-size) % 4


def open_entry(ref, limits):
    offset, size, _name = ref.key
    return Span(open_ref(ref.container, limits), offset, size)


def build(members):
    out = io.BytesIO()
    for i, (name, data) in enumerate(list(members.items()) + [("TRAILER!!!", b"")]):
        raw = name.encode() + b"\\0"
        mode = 0o100644 if data or name != "TRAILER!!!" else 0
        fields = [i + 1, mode, 0, 0, 1, 1_700_000_000, len(data), 0, 0, 0, 0, len(raw), 0]
        out.write(MAGIC + b"".join(b"%08x" % f for f in fields) + raw)
        out.write(b"\\0" * ((-(110 + len(raw))) % 4) + data + b"\\0" * ((-len(data)) % 4))
    return out.getvalue()


def sample(folder):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ramdisk.img"
    path.write_bytes(build({"init.rc": b"on boot", "res/logo.bin": b"\\x01" * 100}))
    return Sample(path, {"ramdisk.img", "ramdisk.img!/init.rc", "ramdisk.img!/res/logo.bin"})
'''


def install_lab_package(site: Path) -> None:
    """A package outside triage/, found the way pip-installed plugins are: a dist-info folder
    with entry_points.txt on the path."""
    site.mkdir(parents=True)
    (site / "lab_cpio.py").write_text(textwrap.dedent(CPIO_SOURCE))
    info = site / "lab_cpio-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-cpio\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[triage.evidence]\ncpio = lab_cpio\n")


def test_a_source_from_outside_triage_is_listed_and_used_by_ingest(tmp_path):
    site = tmp_path / "site"
    install_lab_package(site)
    sys.path.insert(0, str(site))
    try:
        import lab_cpio
        cpio = lab_cpio.build
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("lab_cpio", None)
    picture = jpeg(1)
    src = tmp_path / "dump"
    write(src, "boot/ramdisk.img", cpio({"init.rc": b"on boot", "res/splash.jpg": picture}))
    write(src, "Download/fw.zip", make_zip({"inner.cpio": cpio({"a.jpg": jpeg(2)})}))
    ws = init_workspace(tmp_path / "ws").root
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "triage.cli", "-w", str(ws), *args],
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    listed = [r for r in map(json.loads, run("plugins", "--json").splitlines())
              if r["registry"] == "triage.evidence"]
    cpio_row = next(r for r in listed if r["name"] == "cpio")
    assert cpio_row["origin"] == "lab-cpio" and cpio_row["problem"] is None
    assert {"folder", "zip", "tar"} <= {r["name"] for r in listed}
    # Workers are separate processes: they find the lab's source the same way.
    run("ingest", str(src), "--case", "C", "--device", "D", "--workers", "2", "--no-classify")
    rows = by_path(json.loads(line) for line in
                   run("files", "--device", "D", "--json").splitlines())
    splash = rows["boot/ramdisk.img!/res/splash.jpg"]
    assert splash["status"] == "ok" and splash["pdq"]
    assert rows["boot/ramdisk.img!/init.rc"]["status"] == "ok"
    assert rows["Download/fw.zip!/inner.cpio!/a.jpg"]["status"] == "ok"
    assert rows["boot/ramdisk.img"]["status"] == "ok"
