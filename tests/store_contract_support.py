"""What the store contract tests (tests/test_store_contract.py) stand on: the backends they run
against, the two workspaces every test runs on, and the bookkeeping that keeps the suite honest
about which store methods it covers.

Why a backend is three callables (`init`, `open`, `clone`): that is all the suite asks of one. A
second backend (PostgreSQL) is one more entry in BACKENDS, selected with
`TRIAGE_STORE_BACKEND=sqlite,postgres`; it makes an empty workspace, opens a workspace's store
(migrating it, whatever release made it) and gives each test a private copy of a built one (for
SQLite a folder copy; for a server, e.g. `CREATE DATABASE ... TEMPLATE`). The tests never touch
SQL: the store they get refuses `conn` (`Recording`).

Why the workspaces are built once per module: a fresh one is a real ingest (generated JPEGs, a
duplicate, a zip, a damaged file, a near-identical copy, three exhibits in two cases, lists
imported through `import_list`) and takes about a second; a migrated one is release 0.1.0's
workspace (tests/fixtures/workspace-0.1.0.tar.gz) opened by this code. Each test works on a clone.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from tests.conftest import flip_bits
from triage.categories import CategoryMap
from triage.demo.synthetic import camera_exif, encode, photo_like
from triage.match.lists.library import import_list
from triage.pipeline import Pipeline
from triage.records import FileResult
from triage.store import Store
from triage.store.review import iso_ms
from triage.workspace import DB_NAME, Workspace, init_workspace

BACKEND_ENV = "TRIAGE_STORE_BACKEND"
RELEASE_FIXTURE = Path(__file__).parent / "fixtures" / "workspace-0.1.0.tar.gz"
# Every time the tests write lies after everything the 0.1.0 workspace recorded.
BASE = datetime(2031, 3, 3, 9, 0, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    """A moment `seconds` after BASE, in the one text form the review tables use."""
    return iso_ms(BASE + timedelta(seconds=seconds))


def moment(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


# -- backends -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    """How the suite gets at one kind of store. Calling it opens a workspace's store."""

    name: str
    init: Callable[[Path], Workspace]       # an empty workspace in this folder
    open: Callable[[Path], Store]           # the store of the workspace in this folder
    clone: Callable[[Path, Path], None]     # a private copy of a built (closed) workspace

    def __call__(self, root: Path) -> Store:
        return self.open(root)


def _sqlite_clone(src: Path, dst: Path) -> None:
    # The builder closed its store: the database file holds every commit (SQLite checkpoints
    # the WAL when the last connection closes), and a -wal left behind is copied with it.
    shutil.copytree(src, dst)


BACKENDS: dict[str, Backend] = {
    "sqlite": Backend("sqlite", init_workspace, lambda root: Store.open(root / DB_NAME),
                      _sqlite_clone),
}


def selected_backends(environ: dict[str, str] | None = None) -> list[str]:
    """The backends named in TRIAGE_STORE_BACKEND (comma-separated; default sqlite)."""
    text = (os.environ if environ is None else environ).get(BACKEND_ENV, "") or "sqlite"
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise ValueError(f"{BACKEND_ENV} names unknown store backends {', '.join(unknown)}"
                         f" (known: {', '.join(sorted(BACKENDS))})")
    return names


# -- which methods the suite covers ---------------------------------------------------------
def public_methods(cls: type = Store) -> set[str]:
    """Every public method and property of the store (what a second backend must provide)."""
    out: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and (
                    callable(value) or isinstance(value, (staticmethod, classmethod, property))):
                out.add(name)
    return out


PUBLIC = public_methods()

# Public methods the suite does not call, and why. The coverage test fails for any method in
# neither this table nor a test's @covers, so a new store method arrives with its contract.
NOT_COVERED: dict[str, str] = {
    "open": "the backend's own opening (the `store_backend` factory calls it for every test)",
    "close": "called by the fixture after every test",
    "hashlib_dir": "where SQLite list files live (design of the list library, not of the database)",
    "list_file": "where SQLite list files live (design of the list library, not of the database)",
    "build_facts": "the rebuild step of ensure_facts, keyed by what it reads; only it calls this",
}


def covers(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as asserting the contract of these store methods. The `ws` fixture checks
    after the test that each was really called through the store it handed out."""
    unknown = sorted(set(names) - PUBLIC)
    if unknown:
        raise AssertionError(f"@covers names methods the store does not have: {unknown}")

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.store_covers = frozenset(names)  # type: ignore[attr-defined]
        return fn
    return mark


class Recording:
    """The store as a test sees it: every public name used is noted; `conn` is refused (the
    contract is the store's methods, never its SQL)."""

    def __init__(self, store: Store) -> None:
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "used", set())

    def __getattr__(self, name: str) -> Any:
        if name == "conn":
            raise AttributeError("store contract tests never touch the connection (SQL)")
        if name in PUBLIC:
            self.used.add(name)
        return getattr(self._store, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._store, name, value)


# -- the two workspaces ---------------------------------------------------------------------
@dataclass
class Scene:
    """What a test may rely on in a built workspace, found through the store's own methods."""

    kind: str                       # "fresh" or "migrated"
    device: str                     # the exhibit with files
    device_id: int
    case: str
    case_id: int
    other_case_device: str          # a device of another case
    pictures: list[int]             # unique unseen pictures of `device`, ascending
    copied: int                     # a content with two or more files on `device`
    known: dict[int, str]           # content -> category of its exact alert matches
    same_case_copy: tuple[int, int] | None = None  # (other exhibit of the case, content)
    lists: list[str] = field(default_factory=list)


def survey(store: Store, kind: str) -> Scene:
    devices = store.devices()
    with_files = [(store.device_summary(d["id"])["files"], d["label"]) for d in devices]
    label = max(with_files)[1]
    dev = store.device(label)
    rows = list(store.iter_files(dev["id"]))
    copied = next(r["content_id"] for r in rows if r["duplicate_count"] > 0)
    pictures = sorted(p["content_id"] for p in store.unseen_pictures(dev["id"]))
    shared = None
    for cid in pictures:
        for copy in store.content_in_case(dev["id"], cid):
            shared = (int(store.device(copy["device"])["id"]), cid)
            break
        if shared:
            break
    other = next(d["label"] for d in devices if d["case_id"] != dev["case_id"])
    known = {cid: k.category for cid, k in store.known_categories(device_id=dev["id"]).items()}
    return Scene(kind, label, int(dev["id"]), dev["case_reference"], int(dev["case_id"]), other,
                 pictures, int(copied), known, shared, [h["name"] for h in store.hashsets()])


def _jpeg(seed: int, size: tuple[int, int] = (128, 96), exif: bool = False) -> bytes:
    return encode(photo_like(seed, size), "JPEG", 85, camera_exif(seed) if exif else None)


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def build_fresh(root: Path, backend: Backend) -> tuple[Path, Scene]:
    """A workspace made by this release: three exhibits of generated pictures, really ingested,
    with lists imported before and after."""
    ws = backend.init(root / "ws")
    pics = {f"DCIM/p{i}.jpg": _jpeg(i, exif=i % 2 == 0) for i in range(8)}
    ev = root / "exhibit1"
    for rel, data in pics.items():
        _write(ev, rel, data)
    _write(ev, "Download/copy_of_p1.jpg", pics["DCIM/p1.jpg"])           # an exact duplicate
    p4 = pics["DCIM/p4.jpg"]
    _write(ev, "DCIM/damaged.jpg", p4[: len(p4) // 2])                     # a truncated JPEG
    with Image.open(io.BytesIO(pics["DCIM/p2.jpg"])) as im:               # near-identical
        buf = io.BytesIO()
        im.convert("RGB").resize((120, 90)).save(buf, "JPEG", quality=80)
    _write(ev, "DCIM/p2_small.jpg", buf.getvalue())
    (ev / "Download").mkdir(exist_ok=True)
    with zipfile.ZipFile(ev / "Download" / "archive.zip", "w") as z:
        z.writestr("inner/z0.jpg", _jpeg(100))
        z.writestr("inner/copy_p3.jpg", pics["DCIM/p3.jpg"])
    (ev / "notes.txt").write_text("shopping list\n", encoding="utf-8")
    ev2 = root / "exhibit2"
    _write(ev2, "Pictures/same_p1.jpg", pics["DCIM/p1.jpg"])
    _write(ev2, "Pictures/own.jpg", _jpeg(200))
    ev3 = root / "exhibit3"
    _write(ev3, "Pictures/p1_elsewhere.jpg", pics["DCIM/p1.jpg"])

    def md5(rel: str) -> str:
        return hashlib.md5(pics[rel]).hexdigest()

    lists = root / "lists"
    lists.mkdir()
    (lists / "alert-uk.csv").write_text(
        f"md5,category\n{md5('DCIM/p5.jpg')},B\n{md5('DCIM/p6.jpg')},A\n", encoding="utf-8")
    (lists / "alert-uk-2.csv").write_text(f"md5,category\n{md5('DCIM/p5.jpg')},A\n",
                                          encoding="utf-8")
    (lists / "good.md5").write_text(f"{md5('DCIM/p7.jpg')}  p7.jpg\n", encoding="utf-8")
    store = backend.open(ws.root)
    try:
        categories = CategoryMap(ws.config("categories"))
        for name, kind, scheme in (("alert-uk", "alert", "uk"), ("alert-uk-2", "alert", "uk"),
                                   ("good", "known-good", "none")):
            src = next(lists.glob(f"{name}.*"))
            import_list(store, src, name, kind=kind, scheme=scheme, categories=categories)
        pipeline = Pipeline(ws, store, progress=False)
        for source, case, label in ((ev, "CASE-1", "EXH-1"), (ev2, "CASE-1", "EXH-2"),
                                    (ev3, "CASE-2", "OTHER-1")):
            run = pipeline.process(source, case, label, workers=0, classify=False)
            assert run.state == "completed", run.as_dict()
        # A PDQ list imported after ingest, near (not equal) to p0: re-matched as the CLI does.
        dev = store.device("EXH-1")
        p0 = next(r for r in store.iter_files(dev["id"]) if r["path"] == "DCIM/p0.jpg")
        (lists / "near.pdq").write_text(f"{flip_bits(p0['pdq'], 6)},A\n", encoding="utf-8")
        result = import_list(store, lists / "near.pdq", "near-pdq", fmt="pdq", kind="alert",
                             scheme="uk", categories=categories)
        pipeline.lists_changed(result.hashset["id"])
        scene = survey(store, "fresh")
    finally:
        store.close()
    return ws.root, scene


def build_migrated(root: Path, backend: Backend) -> tuple[Path, Scene]:
    """Release 0.1.0's workspace, opened (and so migrated) by this release."""
    with tarfile.open(RELEASE_FIXTURE) as tar:
        tar.extractall(root, filter="data")
    ws = root / "workspace"
    store = backend.open(ws)
    try:
        scene = survey(store, "migrated")
    finally:
        store.close()
    return ws, scene


# -- what tests add through the store -------------------------------------------------------
PASSWORD_HASH = "scrypt$contract$not-a-real-hash"


@dataclass
class Team:
    reviewer: dict[str, Any]
    second: dict[str, Any]
    lead: dict[str, Any]
    outsider: dict[str, Any]        # a reviewer assigned to another case only


def team(store: Any, scene: Scene) -> Team:
    """Two reviewers and a lead assigned to the scene's case, and a reviewer of another case."""
    made = {}
    for key, name, role in (("reviewer", "contract-rev-a", "reviewer"),
                            ("second", "contract-rev-b", "reviewer"),
                            ("lead", "contract-lead", "lead"),
                            ("outsider", "contract-rev-x", "reviewer")):
        store.add_user(name, role, PASSWORD_HASH, at(0))
        made[key] = store.require_user(name)
    for key in ("reviewer", "second", "lead"):
        store.assign_case(scene.case_id, made[key]["id"])
    other = store.device(scene.other_case_device)
    store.assign_case(other["case_id"], made["outsider"]["id"])
    return Team(**made)


def file_result(path: str, row: dict[str, Any] | None = None, **kw: Any) -> FileResult:
    """A file as ingest records it; with `row` (an `iter_files` row), holding the same bytes."""
    base: dict[str, Any] = {"path": path, "extension": Path(path).suffix.lstrip(".").lower(),
                            "size": 10, "status": "ok"}
    if row is not None:
        base.update(size=row["size"], md5=row["md5"], sha1=row["sha1"], sha256=row["sha256"],
                    detected_type=row["detected_type"], media_kind=row["media_kind"])
    base.update(kw)
    return FileResult(**base)


def record_exhibit(store: Any, case: str, label: str, results: Iterable[FileResult],
                   location: str = "/evidence/contract") -> tuple[int, int]:
    """(device id, source id) of an exhibit whose files are `results`, recorded as ingest
    records a run."""
    device_id = store.ensure_device(case, label)
    source_id = store.ensure_source(device_id, location, "folder", Path(location).name)
    run = store.start_run(device_id, source_id)
    store.record_files(device_id, source_id, run, list(results))
    store.finish_run(run, "completed", {"files": 1})
    return device_id, source_id


def exhibit_holding(store: Any, scene: Scene, content_id: int) -> int:
    """Another exhibit of the scene's case that holds `content_id` (recorded if none does)."""
    if scene.same_case_copy is not None and scene.same_case_copy[1] == content_id:
        return scene.same_case_copy[0]
    row = next(r for r in store.iter_files(scene.device_id) if r["content_id"] == content_id)
    device_id, _ = record_exhibit(store, scene.case, "CONTRACT-EXH-2",
                                  [file_result("Pictures/the_same.jpg", row)])
    return device_id
