"""Known material through the API: never unblurred unless the reviewer opened the known view of
its device; known-good pictures never."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner

from tests.conftest import jpeg, write
from tests.web_support import FakeClock, add_exhibit, build_lab, content_id_of, signed_in
from triage.cli.main import cli
from triage.web import create_app


def _import_list(lab, tmp_path, name, kind, paths):
    src = tmp_path / f"{name}.md5"
    src.write_text("".join(f"{hashlib.md5((tmp_path / 'ev1' / p).read_bytes()).hexdigest()}"
                           f"  {p}\n" for p in paths))
    r = CliRunner().invoke(cli, ["-w", str(lab.ws.root), "hashsets", "import", str(src),
                                 "--name", name, "--kind", kind], catch_exceptions=False)
    assert r.exit_code == 0, r.output


@pytest.fixture
def env(tmp_path):
    lab = build_lab(tmp_path)
    _import_list(lab, tmp_path, "alerts", "alert", ["DCIM/p103.jpg"])
    _import_list(lab, tmp_path, "good", "known-good", ["DCIM/p104.jpg"])
    client, post = signed_in(create_app(lab.ws, clock=FakeClock(), testing=True), "rev1")
    ids = {n: content_id_of(lab.ws, "D1", f"DCIM/{n}.jpg") for n in ("p102", "p103", "p104")}
    return lab, client, post, ids


def _reveal(post, lab, cid):
    return post("/api/exposure/start", mode="revealed", device_id=lab.d1, content_id=cid)


def test_known_pictures_reveal_only_from_the_known_view(env, tmp_path):
    lab, client, post, ids = env
    known, good = ids["p103"], ids["p104"]
    # Queue view: a start call for known or known-good material is refused, and so the bytes.
    for cid in (known, good):
        r = _reveal(post, lab, cid)
        assert r.status_code == 403 and "known" in r.get_json()["error"]
        assert client.get(f"/media/{cid}/revealed").status_code == 403
        assert client.get(f"/media/{cid}/blurred").status_code == 200  # blurred is fine
    # The reviewer opens the known view on purpose: now the known picture may be revealed
    # (recorded like any reveal), the known-good one still never.
    page = client.get("/review/D1?known=1").get_data(as_text=True)
    assert f'data-revealed-src="/media/{known}/revealed"' in page
    r = _reveal(post, lab, known)
    assert r.status_code == 200
    assert client.get(f"/media/{known}/revealed").status_code == 200
    post("/api/exposure/stop", id=r.get_json()["id"])
    assert _reveal(post, lab, good).status_code == 403
    # Closing the known view closes it for reveals, and for an interval left open.
    r = _reveal(post, lab, known)
    assert r.status_code == 200
    client.get("/review/D1")
    assert client.get(f"/media/{known}/revealed").status_code == 403
    assert _reveal(post, lab, known).status_code == 403
    # A picture that becomes known while revealed is not sent unblurred any more.
    r = _reveal(post, lab, ids["p102"])
    assert r.status_code == 200
    _import_list(lab, tmp_path, "later", "alert", ["DCIM/p102.jpg"])
    assert client.get(f"/media/{ids['p102']}/revealed").status_code == 403


def test_the_known_view_of_one_device_does_not_open_another(env, tmp_path):
    """The known view is per device: a picture of the case's other exhibit cannot be revealed
    by naming the device whose known view is open."""
    lab, client, post, ids = env
    write(tmp_path / "ev1b", "Pictures/x.jpg", jpeg(301))
    d1b = add_exhibit(lab, tmp_path / "ev1b", "C1", "D1-B")
    src = tmp_path / "b.md5"
    src.write_text(hashlib.md5(jpeg(301)).hexdigest() + "  x.jpg\n")
    r = CliRunner().invoke(cli, ["-w", str(lab.ws.root), "hashsets", "import", str(src),
                                 "--name", "b", "--kind", "alert"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    other = content_id_of(lab.ws, "D1-B", "Pictures/x.jpg")
    client.get("/review/D1?known=1")
    r = post("/api/exposure/start", mode="revealed", device_id=lab.d1, content_id=other)
    assert r.status_code == 404
    r = post("/api/exposure/start", mode="revealed", device_id=d1b, content_id=other)
    assert r.status_code == 403
    client.get("/review/D1-B?known=1")
    r = post("/api/exposure/start", mode="revealed", device_id=d1b, content_id=other)
    assert r.status_code == 200
    assert client.get(f"/media/{other}/revealed").status_code == 200
