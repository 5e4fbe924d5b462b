"""`triage serve`: the local review web app."""

from __future__ import annotations

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
        server = create_server(app, host=host, port=port, threads=threads)
        click.echo(f"triage review pages on http://{host}:{server.effective_port}/"
                   " (Ctrl-C to stop)")
        try:
            server.run()
        except KeyboardInterrupt:
            click.echo("stopped")
        finally:
            server.close()


def register(cli: click.Group) -> None:
    cli.add_command(serve_command)
