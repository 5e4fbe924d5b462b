"""Build the "previous release" workspace fixture that the migration test opens.

Run with the *old* code importable (e.g. from a `git worktree` of the release commit):

    git worktree add /tmp/rel <commit> && cd /tmp/rel && make .venv/.installed
    TRIAGE_TODAY=2026-12-01 .venv/bin/python /path/to/scripts/make_release_fixture.py OUT.tar.gz

It runs the demo (ingest, hash lists, matching, classify, queue, reviewers), records three
decisions through the store, and saves what `files --json`, `queue --json` and `export` print,
beside the workspace (without the derivatives, which the outputs do not read), in one tarball.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def main(out: str) -> None:
    tmp = Path(tempfile.mkdtemp())
    exe = [sys.executable, "-m", "triage.cli"]
    subprocess.run(exe + ["demo", "--dir", str(tmp / "demo")], check=True,
                   capture_output=True)
    ws = tmp / "demo" / "workspace"
    from triage.workspace import Workspace

    store = Workspace(ws).open_store()
    dev = store.device("DEMO-PHONE-01")
    user = store.require_user("demo")
    from triage.queue.build import build_queue

    queue = build_queue(store, dev["id"])
    clustered = next(q for q in queue if q.cluster_size > 1)
    single = next(q for q in queue if q.cluster_size == 1)
    store.decide(dev["id"], clustered.content_id, user["id"], "uk", "B",
                 "2026-11-30T10:00:00.000+00:00", clustered.member_content_ids)
    store.decide(dev["id"], single.content_id, user["id"], "uk", "C",
                 "2026-11-30T10:00:05.000+00:00")
    third = next(q for q in build_queue(store, dev["id"]) if q.content_id not in
                 (clustered.content_id, single.content_id))
    store.decide(dev["id"], third.content_id, user["id"], "uk", "uncertain",
                 "2026-11-30T10:00:09.000+00:00")
    store.close()
    outputs = {
        "files.jsonl": ["files", "--device", "DEMO-PHONE-01", "--json"],
        "queue.jsonl": ["queue", "--device", "DEMO-PHONE-01", "--json"],
        "export.csv": ["export", "--device", "DEMO-PHONE-01", "--format", "csv"],
        "export-us.json": ["export", "--device", "DEMO-PHONE-01", "--profile", "us"],
    }
    expected = tmp / "expected"
    expected.mkdir()
    for name, args in outputs.items():
        text = subprocess.run(exe + ["-w", str(ws), *args], check=True, capture_output=True,
                              text=True).stdout
        (expected / name).write_text(text, encoding="utf-8")
    with tarfile.open(out, "w:gz") as tar:
        for sub in ("triage.db", "config", "hashlib"):
            tar.add(ws / sub, arcname=f"workspace/{sub}",
                    filter=lambda ti: None if "pdq-index" in ti.name else ti)
        tar.add(expected, arcname="expected")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
