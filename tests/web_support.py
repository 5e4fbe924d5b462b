"""Shared set-up for the review web tests: really ingested generated pictures, users, a clock."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from tests.conftest import jpeg, write
from triage.pipeline import Pipeline
from triage.ingest.coordinator import ingest
from triage.accounts import hash_password
from triage.workspace import Workspace

PASSWORD = "correct horse battery"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 9, 0, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Lab:
    ws: Workspace
    d1: int          # device of case C1, assigned to rev1
    d2: int          # device of case C2, assigned to rev2
    dup_paths: tuple[str, str]  # two paths on D1 holding the same bytes


def build_lab(tmp_path: Path, *, reveal_first: bool = False) -> Lab:
    """Two cases, one device each; D1 holds an exact duplicate and a resized near-duplicate.

    `reveal_first`: keep the lab default that a category needs the picture revealed first
    (config/review.toml [decisions]); off, tests about other things decide by API directly."""
    ws = _ws(tmp_path)
    if not reveal_first:
        set_review_config(ws, "reveal_before_category = true", "reveal_before_category = false")
    one = tmp_path / "ev1"
    data = jpeg(101)
    write(one, "DCIM/a.jpg", data)
    write(one, "WhatsApp/Sent/a-copy.jpg", data)           # exact duplicate
    for seed in (102, 103, 104):
        write(one, f"DCIM/p{seed}.jpg", jpeg(seed))
    big = one / "DCIM/p102.jpg"
    with Image.open(big) as im:                              # near-duplicate: resized copy
        small = im.resize((480, 360))
        small.save(one / "WhatsApp/p102-small.jpg", "JPEG", quality=80)
    two = tmp_path / "ev2"
    for seed in (201, 202):
        write(two, f"DCIM/q{seed}.jpg", jpeg(seed))
    store = ws.open_store()
    try:
        opts = Pipeline(ws, store, progress=False).ingest_options(0)
        ingest(store, one, "C1", "D1", opts)
        ingest(store, two, "C2", "D2", opts)
        now = "2026-05-01T00:00:00+00:00"
        for name, case in (("rev1", "C1"), ("rev2", "C2")):
            uid = store.add_user(name, "reviewer", hash_password(PASSWORD), now)
            store.assign_case(store.case_by_reference(case)["id"], uid)
        store.add_user("boss", "backlog", hash_password(PASSWORD), now)
        d1, d2 = store.device("D1")["id"], store.device("D2")["id"]
    finally:
        store.close()
    return Lab(ws, d1, d2, ("DCIM/a.jpg", "WhatsApp/Sent/a-copy.jpg"))


def set_review_config(ws: Workspace, old: str, new: str) -> None:
    """Edit one line of the workspace's config/review.toml (the lab's copy)."""
    path = ws.config_dir / "review.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def reveal(client: Any, post: Callable[..., Any], device_id: int, content_id: int) -> None:
    """Reveal a picture as the page does: open a revealed interval, fetch the unblurred bytes
    (the server records the reveal for this session), then stop."""
    r = post("/api/exposure/start", mode="revealed", device_id=device_id, content_id=content_id)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert client.get(f"/media/{content_id}/revealed").status_code == 200
    post("/api/exposure/stop", id=r.get_json()["id"])


def add_exhibit(lab: Lab, folder: Path, case: str, label: str) -> int:
    """Ingest `folder` as exhibit `label` of `case`; returns the device id."""
    store = lab.ws.open_store()
    try:
        Pipeline(lab.ws, store, progress=False).ingest(folder, case, label, 0)
        return int(store.device(label)["id"])
    finally:
        store.close()


def add_second_exhibit(lab: Lab, tmp_path: Path) -> None:
    """A second exhibit of case C1 (D1-B) holding the same picture as D1's a.jpg."""
    write(tmp_path / "ev3", "Pictures/same.jpg", jpeg(101))
    add_exhibit(lab, tmp_path / "ev3", "C1", "D1-B")


def _ws(tmp_path: Path) -> Workspace:
    from triage.workspace import init_workspace

    return init_workspace(tmp_path / "ws")


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "page carries no CSRF token"
    return m.group(1)


def login(client, name: str = "rev1", password: str = PASSWORD) -> str:
    """Sign in with the test client; returns the CSRF token for later requests."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    return csrf_token(client.get("/").get_data(as_text=True))


def signed_in(app, name: str = "rev1") -> tuple[Any, Callable[..., Any]]:
    """A test client signed in as `name`, and `post(url, **json)` sending its CSRF token."""
    client = app.test_client()
    token = login(client, name)

    def post(url: str, **body: Any) -> Any:
        return client.post(url, json=body, headers={"X-CSRFToken": token})

    return client, post


def content_id_of(ws: Workspace, device: str, path: str) -> int:
    store = ws.open_store()
    try:
        dev = store.device(device)["id"]
        return next(f["content_id"] for f in store.iter_files(dev) if f["path"] == path)
    finally:
        store.close()
