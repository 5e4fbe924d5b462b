"""What the server checks before a category is accepted: that the picture was seen.

A sign-in session gets a random id at sign-in (`start_session`); each unblurred picture the
server delivers is recorded against it (`record_reveal`, from the one route that sends picture
bytes). `reveal_refusal` then refuses a category other than those the lab allows without a
look (config/review.toml [decisions]) for a picture this session never had revealed. For a
cluster of near-identical pictures it is the entry's representative, the picture on the tile,
that must have been revealed. The page says so before sending; the server decides.
"""

from __future__ import annotations

import secrets

from flask import session

from triage.web.context import now_text, policy, store

SESSION_KEY = "sid"
REVEAL_FIRST = ("Reveal the picture first (Space or click): a category other than"
                " {allowed} needs it seen in this session.")


def start_session() -> None:
    """Called at sign-in, after the session is cleared: a new id, so nothing revealed in an
    earlier session counts."""
    session[SESSION_KEY] = secrets.token_urlsafe(18)


def session_id() -> str:
    sid = session.get(SESSION_KEY)
    if not sid:
        start_session()
        sid = session[SESSION_KEY]
    return str(sid)


def record_reveal(user_id: int, content_id: int) -> None:
    store().record_reveal(session_id(), user_id, content_id, now_text())


def revealed(content_ids: list[int]) -> set[int]:
    """Which of these pictures this session has had revealed."""
    if not content_ids:
        return set()
    return store().revealed_in_session(session_id(), content_ids)


def allowed_blind_text() -> str:
    labels = {"uncertain": '"uncertain"', "not_indecent": '"not indecent"'}
    allowed = [labels.get(c, f'"{c}"') for c in policy().without_reveal]
    return " or ".join(allowed) if allowed else "none"


def reveal_refusal(category: str, content_id: int) -> str | None:
    """Why this category may not be given to this picture now, or None."""
    p = policy()
    if not p.reveal_before_category or category in p.without_reveal:
        return None
    if content_id in revealed([content_id]):
        return None
    return REVEAL_FIRST.format(allowed=allowed_blind_text())
