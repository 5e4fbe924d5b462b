"""`triage serve`: the local review web app."""

from __future__ import annotations

import errno

import click

from triage.cli.base import command_context


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Loopback by default; anything else needs HTTPS in"
                   " front (the session cookie is then sent over HTTPS only).")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int,
              help="Worker threads (each page and heartbeat is a short request).")
@click.pass_context
def serve_command(ctx: click.Context, host: str, port: int, threads: int) -> None:
    """Serve the review pages (sign in with a user made by `triage users add`)."""
    from waitress import create_server

    from triage.web import create_app, is_loopback

    with command_context(ctx, "serve") as run:
        if not run.store.users():
            raise click.ClickException("no users yet: add one with"
                                       " `triage users add NAME --role reviewer`")
        app = create_app(run.workspace, host=host)
        if not is_loopback(host):
            click.echo(f"warning: listening on {host}, not loopback. Put HTTPS in front: sign-in"
                       " cookies are only sent over HTTPS.", err=True)
        try:
            server = create_server(app, host=host, port=port, threads=threads)
        except OSError as exc:
            raise click.ClickException(_listen_error(host, port, exc)) from None
        click.echo(f"triage review pages on http://{host}:{server.effective_port}/"
                   " (Ctrl-C to stop)")
        try:
            server.run()
        except KeyboardInterrupt:
            click.echo("stopped")
        finally:
            server.close()


def _listen_error(host: str, port: int, exc: OSError) -> str:
    """One line for the reasons a listening socket fails, instead of waitress's traceback."""
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {host}:{port}: the port is already in use (another"
                " `triage serve`?); stop it or choose another with --port")
    if exc.errno == errno.EACCES:
        return (f"cannot listen on {host}:{port}: permission denied (ports below 1024 need"
                " privileges); choose another with --port")
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}:{port}: no such address on this machine (--host)"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def register(cli: click.Group) -> None:
    cli.add_command(serve_command)
