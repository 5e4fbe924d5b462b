"""The signal, matcher and media-handler registries: what every member must honour, and that a
lab's package adds a signal, a matcher and a media handler with no edit inside `triage/`.

Contract (issue 12): every registered signal's distance is a metric on its own examples
(identity, symmetry, triangle inequality), compute is deterministic, values round-trip through
the store, and an index, where a signal has one, answers as brute force does.
"""

from __future__ import annotations

import io
import json
import zlib
from itertools import combinations, permutations
from pathlib import Path
from types import SimpleNamespace

import imagehash
import numpy as np
import pytest
from PIL import Image

from tests.conftest import by_path, files_json, write
from triage.demo.synthetic import encode, photo_like
from triage.match import MATCHERS
from triage.match.base import Found, MatchJob
from triage.match.lists import FORMATS
from triage.media import MEDIA, MediaOutcome
from triage.media.base import DerivativeImage, MediaInput
from triage.plugins import all_registries
from triage.records import FileResult, MediaInfo, SignalValue
from triage.signals import KINDS, SIGNALS, Picture, signals_for
from triage.signals.crypto import IDENTITY, digest_bytes
from triage.signals.pdq import pdq_hex
from triage.signals.pdq_index import codes_from_hex
from triage.store.hashsets import EntryBlock

BUILT_IN = {"md5", "sha1", "sha256", "pdq", "phash", "dhash"}


def computed(signal) -> list[str]:
    return [signal.compute(x)[0] for x in signal.examples()]


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_the_built_in_signals_are_registered_with_their_kinds(name):
    signal = SIGNALS.get(name)
    assert signal.name == name and signal.description
    assert signal.kinds <= set(KINDS) and signal.kinds
    assert ("bytes" in signal.kinds) == (name in IDENTITY)
    assert (name == "pdq") == ("frame" in signal.kinds)
    assert (signal.index is not None) == (name == "pdq")  # the exact MIH index


@pytest.mark.parametrize("name", SIGNALS.names())
def test_every_signal_is_deterministic_and_a_metric_on_its_examples(name):
    signal = SIGNALS.get(name)
    examples = signal.examples()
    assert len(examples) >= 3
    values = computed(signal)
    assert values == computed(signal)  # deterministic, also on a fresh decode of the same input
    for v in values:
        assert len(v) * 4 == signal.bits and int(v, 16) >= 0 and v == v.lower()
    assert len(set(values)) >= 3, "examples must not all hash alike"
    d = signal.distance
    for a in values:
        assert d(a, a) == 0
    for a, b in combinations(values, 2):
        assert d(a, b) == d(b, a) >= 0
        assert (d(a, b) == 0) == (a == b)
    for a, b, c in permutations(values, 3):
        assert d(a, c) <= d(a, b) + d(b, c)
    if "picture" in signal.kinds:  # near copies are nearer than unrelated pictures
        assert d(values[0], values[1]) < d(values[0], values[5])


@pytest.mark.parametrize("name", SIGNALS.names())
def test_every_signal_value_round_trips_through_the_store(name, workspace):
    signal = SIGNALS.get(name)
    store = workspace.open_store()
    try:
        for i, (x, value) in enumerate(zip(signal.examples(), computed(signal))):
            quality = signal.compute(x)[1]
            digests = digest_bytes(f"content {name} {i}".encode())
            kind = "bytes" if "bytes" in signal.kinds else "picture"
            if name in IDENTITY:  # the identity digests are the content's own columns
                digests = digest_bytes(x)
            result = FileResult(path=f"{name}/{i}", extension="", size=1, status="ok",
                                md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256)
            if name not in IDENTITY:
                result.signals = [SignalValue(name, value, quality, frame=3 if kind == "picture"
                                              else 0, seconds=1.5 if kind == "picture" else None)]
            device = store.ensure_device("CASE", "DEV")
            source = store.ensure_source(device, f"/s/{name}", "folder", "s")
            store.record_files(device, source, store.start_run(device, source), [result])
            cid = store.conn.execute("SELECT id FROM contents WHERE sha256=?",
                                     (digests.sha256,)).fetchone()[0]
            got = [s for s in store.content_signals(cid) if s.signal == name]
            if name in IDENTITY:
                assert got == [SignalValue(name, value)]
            else:
                assert got == result.signals
                assert store.signal_values([cid], name) == {cid: result.signals}
    finally:
        store.close()


@pytest.mark.parametrize("name", [n for n in SIGNALS.names() if SIGNALS.get(n).index is not None])
def test_a_signal_index_answers_as_brute_force_on_its_examples(name):
    signal = SIGNALS.get(name)
    values = computed(signal)
    meta = np.array([(1, i) for i in range(len(values))], dtype=np.int64)
    index = signal.index.build(codes_from_hex(values), meta, 31)
    hits = index.range_search(codes_from_hex(values), 31)
    for q, row in zip(values, hits):
        want = sorted((i, signal.distance(q, v)) for i, v in enumerate(values)
                      if signal.distance(q, v) <= 31)
        assert sorted((int(p), int(dist)) for p, dist in row) == want


def test_every_kind_names_its_signals():
    assert [n for n, _ in signals_for("bytes")] == ["md5", "sha1", "sha256"]
    assert {n for n, _ in signals_for("picture")} >= {"pdq", "phash", "dhash"}
    assert [n for n, _ in signals_for("frame")] == ["pdq"]
    with pytest.raises(ValueError):
        signals_for("sound")


def test_the_matchers_and_media_registries_hold_the_built_ins():
    assert MATCHERS.names() == ["exact", "pdq", "vpdq"]  # exact first: it decides "known"
    assert MEDIA.names() == ["image", "video"]
    image = MEDIA.get("image")
    assert image.kinds == {"image"} and image.streams is False
    video = MEDIA.get("video")
    assert video.kinds == {"video"} and video.streams is True


# -- a lab's package: one signal, one matcher, one media handler, one list format --------------
class Crc32:
    """CRC-32 of the bytes (a lab's bytes signal)."""

    name = "crc32"
    kinds = frozenset({"bytes"})
    bits = 32
    description = "CRC-32 of the bytes"
    index = None

    class _Hasher:
        def __init__(self) -> None:
            self.crc = 0

        def update(self, data) -> None:
            self.crc = zlib.crc32(data, self.crc)

        def hexdigest(self) -> str:
            return f"{self.crc:08x}"

    def hasher(self):
        return self._Hasher()

    def compute(self, content: bytes):
        h = self.hasher()
        h.update(content)
        return h.hexdigest(), None

    def distance(self, a: str, b: str) -> int:
        return int(a != b)

    def examples(self):
        return [b"", b"a", b"b", b"lab"]


class AHash:
    """imagehash's average hash (a lab's picture signal)."""

    name = "ahash"
    kinds = frozenset({"picture"})
    bits = 64
    description = "average hash"
    index = None

    def compute(self, content: Picture):
        return str(imagehash.average_hash(content.gray)), None

    def distance(self, a: str, b: str) -> int:
        return (int(a, 16) ^ int(b, 16)).bit_count()

    def examples(self):
        from triage.signals.base import example_pictures
        return example_pictures()


class AHashMatcher:
    """Contents whose ahash is within 4 bits of a list entry's ahash (a lab's matcher)."""

    name = "ahash"
    description = "near average hash"

    def match(self, job: MatchJob):
        mine = job.store.signal_values([c["id"] for c in job.contents], "ahash")
        for hid in job.lists:
            entries = [row for b in job.store.list_signal_batches(hid, "ahash") for row in b]
            if not entries:
                continue
            raws = job.store.list_entries_by_id(hid, [e[0] for e in entries])
            for cid, values in mine.items():
                for v in values:
                    for entry_id, listed, *_ in entries:
                        d = (int(v.value, 16) ^ int(bytes(listed).hex(), 16)).bit_count()
                        if d <= 4:
                            yield Found(cid, hid, "ahash", d, raws[entry_id]["category_raw"],
                                        v.frame)


class ClipHandler:
    """A toy 'video': an MP4 ftyp box followed by PNG frames, one every half second."""

    name = "clip"
    kinds = frozenset({"video"})
    streams = True
    description = "PNG-frame clips"

    def examine(self, media: MediaInput, limits, want_derivatives: bool) -> MediaOutcome:
        data = media.open().read()  # a streaming handler reads through open()
        parts = data.split(b"\x89PNG")[1:]
        out = MediaOutcome("ok", None, MediaInfo("video", 0, 0, len(parts),
                                                 extra={"duration": 0.5 * len(parts)}))
        for i, part in enumerate(parts):
            with Image.open(io.BytesIO(b"\x89PNG" + part)) as im:
                rgb = im.convert("RGB")
            out.info.width, out.info.height = rgb.size
            for name, signal in signals_for("frame"):
                value, quality = signal.compute(Picture(rgb))
                out.signals.append(SignalValue(name, value, quality, i, 0.5 * i))
            if want_derivatives:
                buf = io.BytesIO()
                rgb.save(buf, "JPEG")
                out.derivatives.append(DerivativeImage(i, buf.getvalue(), 0.5 * i))
        return out


def ahash_list_parse(path: str, options):
    lines = [ln.split(",") for ln in Path(path).read_text().split()]
    yield EntryBlock(len(lines), values={"category_raw": [c for _, c in lines]},
                     signals=[(k, "ahash", 0, bytes.fromhex(h), None, None)
                              for k, (h, _) in enumerate(lines)])


AHASH_LIST = SimpleNamespace(NAME="ahash-list", DESCRIPTION="ahash,category lines",
                             PRIORITY=100, sniff=lambda head: False, parse=ahash_list_parse)


@pytest.fixture
def lab_plugins():
    added = [(SIGNALS, "crc32", Crc32()), (SIGNALS, "ahash", AHash()),
             (MATCHERS, "ahash", AHashMatcher()), (MEDIA, "clip", ClipHandler()),
             (FORMATS, "ahash-list", AHASH_LIST)]
    for registry, name, obj in added:
        registry.register(name, obj, origin="lab-triage")
    yield
    for registry, name, _ in added:
        registry.unregister(name)


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_a_lab_signal_matcher_media_handler_and_list_format_need_no_edit_inside_triage(
        tmp_path: Path, triage, workspace, lab_plugins):
    names = {(r["registry"], r["name"]): r for reg in all_registries() for r in reg.describe()}
    for key in (("triage.signals", "crc32"), ("triage.matchers", "ahash"),
                ("triage.media", "clip"), ("triage.list_formats", "ahash-list")):
        assert names[key]["origin"] == "lab-triage" and names[key]["problem"] is None

    known = photo_like(4040, (320, 240))
    still = encode(photo_like(4141, (320, 240)), "JPEG", 95)
    clip = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + \
        png(photo_like(4242, (320, 240))) + png(known)
    ev = tmp_path / "ev"
    write(ev, "DCIM/still.jpg", still)
    write(ev, "DCIM/clip.mp4", clip)
    big = bytes(range(256)) * 6000  # 1.5 MiB: over the 1 MiB set below, hashed as a stream
    write(ev, "Download/big.bin", big)
    cfg = workspace.root / "config" / "ingest.toml"
    cfg.write_text(cfg.read_text().replace("in_memory_mib = 256", "in_memory_mib = 1"))
    pdq_list = tmp_path / "known.pdq"
    pdq_list.write_text(f"pdq,category\n{pdq_hex(known.convert('RGB'))[0]},A\n")
    triage("hashsets", "import", str(pdq_list), "--name", "pdq", "--format", "pdq",
           "--scheme", "uk")
    with Image.open(io.BytesIO(still)) as im:
        still_ahash = str(imagehash.average_hash(im.convert("RGB").convert("L")))
    ahash_list = tmp_path / "lab.ahash"
    ahash_list.write_text(f"{still_ahash},B\n")
    # Through the library API: the CLI's --format choices are fixed when it is imported.
    store = workspace.open_store()
    try:
        from triage.categories import CategoryMap
        from triage.match.lists.library import import_list
        import_list(store, ahash_list, "lab", fmt="ahash-list", scheme="uk",
                    categories=CategoryMap(workspace.config("categories")))
    finally:
        store.close()
    triage("ingest", str(ev), "--case", "C", "--device", "D", "--workers", "0")

    rows = by_path(files_json(triage, "D"))
    v, s = rows["DCIM/clip.mp4"], rows["DCIM/still.jpg"]
    assert v["status"] == "ok" and v["frames"] == 2 and v["width"] == 320
    (m,) = [m for m in v["matches"] if m["method"] == "pdq"]
    assert m["frame"] == 1 and m["hashset"] == "pdq" and m["distance"] == 0
    (a,) = s["matches"]
    assert (a["method"], a["hashset"], a["distance"], a["category_raw"]) == \
        ("ahash", "lab", 0, "B")

    store = workspace.open_store()
    try:
        streamed = {x.signal: x.value for x in
                    store.content_signals(rows["Download/big.bin"]["content_id"])}
        assert streamed["crc32"] == f"{zlib.crc32(big):08x}"  # the lab's signal, same one read
        sig = {x.signal: x for x in store.content_signals(s["content_id"])}
        assert sig["crc32"].value == f"{zlib.crc32(still):08x}"
        assert sig["ahash"].value == still_ahash and sig["md5"].value == s["md5"]
        frames = store.signal_values([v["content_id"]], "pdq")[v["content_id"]]
        assert [(f.frame, f.seconds) for f in frames] == [(0, 0.0), (1, 0.5)]
        derivs = store.derivatives_of([v["content_id"]])[v["content_id"]]
        assert [(d.frame, d.seconds) for d in derivs] == [(0, 0.0), (1, 0.5)]
        extra = store.conn.execute("SELECT media_kind, media_extra FROM contents WHERE id=?",
                                   (v["content_id"],)).fetchone()
        assert extra[0] == "video" and json.loads(extra[1]) == {"duration": 1.0}
    finally:
        store.close()
    # A video is not "a picture": it stays out of the picture counts and the picture queue.
    summary = json.loads(triage("summary", "--device", "D", "--json").output)
    assert summary["image_files"] == 1
