"""The case view: every exhibit of a case in one queue, a picture held by several exhibits shown
once (from the exhibit where it ranks highest, with the others named on its tile).

A decision made here is made on that exhibit and, as everywhere, spread to the same picture on
the case's other exhibits, so the duplicate never comes back from another exhibit's queue.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template

from triage.store import StoreError
from triage.web.auth import current_user, login_required
from triage.web.context import now_text, policy, store
from triage.web.gates import revealed
from triage.web.navigation import page_from_request

bp = Blueprint("case", __name__)


@bp.route("/case/<reference>")
@login_required(("reviewer", "lead"))
def view(reference: str) -> Any:
    from triage.web.review import decision_context, device_queue, progress

    user = current_user()
    assert user is not None
    s = store()
    try:
        case = s.case_by_reference(reference)
    except StoreError:
        abort(404)
    devices = [d for d in s.assigned_devices(user["id"]) if d["case_id"] == case["id"]]
    if not devices:
        abort(404)  # the same answer as a case that does not exist
    for d in devices:
        device_queue(d["id"])  # each exhibit's recorded queue current
    by_label = {d["label"]: d for d in devices}
    size = max(1, int(policy().display("page_size", 60)))
    page = page_from_request(s.case_entry_count(case["id"]), size)
    items = s.case_entries(case["id"], page.offset, size)
    taken: dict[int, str] = {}
    for d in devices:
        taken.update({cid: k["user"] for cid, k in s.live_claims(d["id"], now_text()).items()
                      if k["user_id"] != user["id"]})
    exhibits = [dict(d, progress=progress(d["id"])) for d in devices]
    files = sum(int(x["files"] or 0) for x in s.case_devices(case["id"]))
    return render_template(
        "case.html", case=case, exhibits=exhibits, items=items, by_label=by_label, page=page,
        taken=taken, revealed=revealed([i["content_id"] for i in items]), files=files,
        device=devices[0], nav_args={}, **decision_context())
