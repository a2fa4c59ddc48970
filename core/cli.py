"""Flask CLI commands for admin tasks: users, tokens, chart, reports, demo data."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from core.extensions import db
from core.models import ROLES, User
from core.services.chart import seed_default_chart
from core.services.errors import ServiceError
from core.services.reports import trial_balance
from core.services.transaction import atomic
from core.services.users import create_api_token, create_user, set_password

users_cli = AppGroup("users", help="Manage users.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
chart_cli = AppGroup("chart", help="Chart of accounts.")
demo_cli = AppGroup("demo", help="Demo data for a first look.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--email", default=None)
@click.password_option(help="At least 8 characters (prompted when omitted).")
def create_user_command(username: str, role: str, email: str | None, password: str) -> None:
    """Create a user who can sign in and hold API tokens."""
    try:
        user = create_user(username, password, role=role, email=email)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created {user.role} {user.username}.")


@users_cli.command("password")
@click.argument("username")
@click.password_option(help="At least 8 characters (prompted when omitted).")
def set_password_command(username: str, password: str) -> None:
    """Set USERNAME's password; unlocks the account and signs out its sessions."""
    try:
        set_password(username, password)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Password of {username} changed; its sessions are signed out.")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label to recognise the token.")
def create_token_command(username: str, name: str) -> None:
    """Issue an API token for USERNAME and print it (shown only once)."""
    user = db.session.execute(db.select(User).where(User.username == username)).scalar()
    if user is None:
        raise click.ClickException(f"No user named {username}.")
    token, _ = create_api_token(user, name)
    click.echo(token)


@chart_cli.command("seed")
def seed_chart_command() -> None:
    """Create the default chart of accounts (existing accounts are left as they are)."""
    with atomic():
        count = seed_default_chart()
    click.echo(f"Default chart in place ({count} accounts).")


@click.command("trial-balance")
@with_appcontext
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
def trial_balance_command(as_of) -> None:  # type: ignore[no-untyped-def]
    """Print the trial balance."""
    report = trial_balance(as_of.date() if as_of else None)
    click.echo(f"{'Code':<8} {'Account':<34} {'Debit':>14} {'Credit':>14}")
    for row in report.rows:
        click.echo(f"{row.account.code:<8} {row.account.name_en[:34]:<34} {row.debit:>14} {row.credit:>14}")
    click.echo(f"{'':<8} {'Total':<34} {report.total_debit:>14} {report.total_credit:>14}")
    click.echo(f"Difference: {report.difference}")


@demo_cli.command("seed")
def seed_demo_command() -> None:
    """Load demo data into an empty database and print the admin login."""
    from core.demo import demo_login_message, seed_demo_data

    seed_demo_data()
    click.echo(demo_login_message())


@demo_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--sandbox-port", default=5101, show_default=True, help="First port for the sandbox stores.")
def serve_demo_command(host: str, port: int, sandbox_port: int) -> None:
    """Serve the app with a sandbox store per platform plugin, connected and ready for orders.

    Without REDIS_URL, jobs run in a background thread: a webhook is answered before its order
    is booked and pushed back to the store, and deliveries left unprocessed are booked at start.
    """
    from flask import current_app
    from werkzeug.serving import run_simple

    from core.demo_stores import connect_demo_stores
    from core.jobs import run_in_background

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.config["PUBLIC_URL"] = f"http://{host}:{port}"
    stores, servers = connect_demo_stores(sandbox_port)
    for store in stores:
        click.echo(f"{store.title} sandbox store at {store.url} (store #{store.store_id})")
        click.echo(f"  make it send an order: {store.hint}")
    run_in_background(app)
    try:
        run_simple(host, port, app, threaded=True)
    finally:
        for server in servers:
            server.stop()


def register_commands(app: Flask) -> None:
    """Add the core's commands, then those plugins contribute through ``register_commands``."""
    from core.integration.cli import COMMANDS as INTEGRATION_COMMANDS
    from core.plugins import registry

    for command in (users_cli, tokens_cli, chart_cli, demo_cli, trial_balance_command, *INTEGRATION_COMMANDS):
        app.cli.add_command(command)
    with app.app_context():
        for commands in registry().hook.register_commands():
            for command in commands or []:
                app.cli.add_command(command)
