"""`triage users add|list|unlock|password|disable|enable` and `triage assign`: who may review which case."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from triage.cli.base import command_context, emit, json_option
from triage.demo.phone import DEMO_PASSWORD
from triage.store import Store
from triage.store.review import ROLES
from triage.workspace import Workspace


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def min_password_length(ws: Workspace) -> int:
    return int(ws.config("review").get("security", {}).get("min_password_length", 12))


def add_user(store: Store, name: str, role: str, password: str, min_length: int) -> int:
    """Python API (also used by `triage demo`)."""
    from triage.accounts import hash_password

    if len(password) < min_length:
        raise click.ClickException(f"password too short: at least {min_length} characters")
    return store.add_user(name, role, hash_password(password), _now())


@click.group("users")
def users_group() -> None:
    """Reviewers and other users of the review pages."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input (first line) instead of a prompt.")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is asked for at the prompt (hidden, typed twice)."""
    with command_context(ctx, "users add") as run:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        uid = add_user(run.store, name, role, password, min_password_length(run.workspace))
        run.counts.update(user=name, role=role, id=uid)  # never the password
        click.echo(f"user {name} added ({role})")


@users_group.command("list")
@json_option
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """Users, their roles, lock state and assigned cases."""
    with command_context(ctx, "users list") as run:
        rows = run.store.users()
        if not as_json:
            rows = [dict(r, cases=", ".join(r["cases"])) for r in rows]
        run.counts["rows"] = emit(rows, as_json, ("name", "role", "active", "locked_until",
                                                  "cases", "created_at"), empty="(no users)")


@users_group.command("unlock")
@click.argument("name")
@click.pass_context
def users_unlock(ctx: click.Context, name: str) -> None:
    """Lift a lockout after repeated bad passwords."""
    with command_context(ctx, "users unlock") as run:
        run.store.unlock_user(run.store.require_user(name)["id"])
        click.echo(f"user {name} unlocked")


@users_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the new password from standard input (first line) instead of a prompt.")
@click.pass_context
def users_password(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password; the user's open sessions end (they sign in again)."""
    from triage.accounts import hash_password

    with command_context(ctx, "users password") as run:
        user = run.store.require_user(name)
        password = (sys.stdin.readline().rstrip("\r\n") if password_stdin else
                    click.prompt("New password", hide_input=True, confirmation_prompt=True))
        min_length = min_password_length(run.workspace)
        if len(password) < min_length:
            raise click.ClickException(f"password too short: at least {min_length} characters")
        run.store.set_password(user["id"], hash_password(password))
        run.counts.update(user=name)  # never the password
        click.echo(f"password of {name} changed; their sessions have ended")


@users_group.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """Stop a user signing in; their open sessions end at once."""
    with command_context(ctx, "users disable") as run:
        run.store.set_active(run.store.require_user(name)["id"], False)
        click.echo(f"user {name} disabled; their sessions have ended")


@users_group.command("enable")
@click.argument("name")
@click.pass_context
def users_enable(ctx: click.Context, name: str) -> None:
    """Let a disabled user sign in again."""
    with command_context(ctx, "users enable") as run:
        run.store.set_active(run.store.require_user(name)["id"], True)
        click.echo(f"user {name} enabled")


@click.command("assign")
@click.option("--case", "case", required=True, help="Case reference.")
@click.option("--user", "user", required=True, help="User name.")
@click.pass_context
def assign_command(ctx: click.Context, case: str, user: str) -> None:
    """Assign a case to a user: reviewers see only the media of their assigned cases."""
    with command_context(ctx, "assign") as run:
        case_row = run.store.case_by_reference(case)
        new = run.store.assign_case(case_row["id"], run.store.require_user(user)["id"])
        click.echo(f"case {case} {'assigned to' if new else 'was already assigned to'} {user}")


def register(cli: click.Group) -> None:
    cli.add_command(users_group)
    cli.add_command(assign_command)


DEMO_REVIEWER = "demo"


def ensure_demo_reviewer(store: Store, case_reference: str) -> str:
    """`triage demo`: a reviewer `demo` assigned to the demo case, so the pages work at once."""
    from triage.accounts import hash_password

    user = store.user_by_name(DEMO_REVIEWER)
    uid = user["id"] if user else store.add_user(DEMO_REVIEWER, "reviewer",
                                                 hash_password(DEMO_PASSWORD), _now())
    store.assign_case(store.case_by_reference(case_reference)["id"], uid)
    return (f"review: `triage -w {store.path.parent} serve`, then sign in as"
            f" {DEMO_REVIEWER} / {DEMO_PASSWORD}")
