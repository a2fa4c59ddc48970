"""``flask plugins``, ``flask stores`` and ``flask jobs``: the integration from the command line."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import AppGroup

from core.integration import connections
from core.services.errors import ServiceError

F = TypeVar("F", bound=Callable[..., Any])

plugins_cli = AppGroup("plugins", help="List, install, enable, disable and uninstall plugins.")
stores_cli = AppGroup("stores", help="Connect online stores and send their orders and products.")
jobs_cli = AppGroup("jobs", help="Background jobs: run a worker, recover lost deliveries.")


def clear_errors(command: F) -> F:
    """Turn the core's refusals into a message and exit status 1, never a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ServiceError as error:
            raise click.ClickException(_message(error)) from None
        except ValueError as error:  # e.g. credentials stored with another server key
            raise click.ClickException(str(error)) from None

    return run  # type: ignore[return-value]


def _message(error: ServiceError) -> str:
    details = "; ".join(
        f"{name}: {', '.join(map(str, texts)) if isinstance(texts, list | tuple) else texts}"
        for name, texts in error.fields.items()
    )
    return f"{error.message} ({details})" if details else error.message


def _pairs(values: tuple[str, ...], *, parse: bool) -> dict[str, Any]:
    """``key=value`` arguments as a mapping; with ``parse``, values are read as JSON when they can be."""
    pairs: dict[str, Any] = {}
    for item in values:
        name, sign, value = item.partition("=")
        if not sign or not name.strip():
            raise click.BadParameter(f"'{item}' is not key=value", param_hint="KEY=VALUE")
        pairs[name.strip()] = _json_or_text(value) if parse else value
    return pairs


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


# -- plugins -----------------------------------------------------------------------------


@plugins_cli.command("list")
def list_plugins_command() -> None:
    """Every plugin this server discovered, with its state."""
    from core.plugins import registry

    infos = registry().describe()
    if not infos:
        click.echo("No plugins found.")
        return
    click.echo(f"{'Name':<16} {'Version':<10} {'Installed':<10} {'Enabled':<8} Title")
    for info in infos:
        click.echo(
            f"{info.name:<16} {info.version:<10} {'yes' if info.installed else 'no':<10} "
            f"{'yes' if info.enabled else 'no':<8} {info.title}" + (f"  [error: {info.error}]" if info.error else "")
        )


def _plugin_action(action: str, done: str, help_text: str) -> None:
    @plugins_cli.command(action, help=help_text)
    @click.argument("name")
    @clear_errors
    def command(name: str) -> None:
        from core.plugins import registry

        plugins = registry()
        if name not in plugins.names():
            known = ", ".join(plugins.names()) or "none"
            raise click.ClickException(f"No plugin named {name} on this server (known: {known}).")
        getattr(plugins, action)(name)
        click.echo(f"Plugin {name} {done}.")


_plugin_action("install", "installed", "Install plugin NAME and create its default accounts once.")
_plugin_action("enable", "enabled", "Enable plugin NAME (install it first).")
_plugin_action("disable", "disabled", "Disable plugin NAME: its hooks stop being called.")
_plugin_action("uninstall", "uninstalled", "Disable plugin NAME and mark it uninstalled (its accounts stay).")


# -- stores ------------------------------------------------------------------------------


@stores_cli.command("list")
def list_stores_command() -> None:
    """Every store connection."""
    from core.extensions import db
    from core.integration.queries import stores_statement

    stores = db.session.execute(stores_statement()).scalars().all()
    if not stores:
        click.echo("No store connections.")
        return
    click.echo(f"{'Id':>4} {'Platform':<12} {'Status':<9} {'Key':<12} Name")
    for store in stores:
        click.echo(f"{store.id:>4} {store.platform:<12} {store.status:<9} {store.key_prefix + '…':<12} {store.name}")


@stores_cli.command("create")
@click.argument("platform")
@click.argument("name")
@clear_errors
def create_store_command(platform: str, name: str) -> None:
    """Add a store on PLATFORM named NAME; prints its connection key and webhook URL once."""
    store, key = connections.create_store(platform, name)
    click.echo(f"Created store {store.id} ({platform}, {name}).")
    click.echo(f"connection key: {key}")
    click.echo(f"webhook URL: {connections.webhook_url(key)}")
    click.echo("The key is shown only now; `flask stores rotate-key` issues a new one.")


@stores_cli.command("credentials")
@click.argument("store_id", type=int)
@click.argument("values", nargs=-1, required=True, metavar="KEY=VALUE...")
@clear_errors
def credentials_command(store_id: int, values: tuple[str, ...]) -> None:
    """Set the credentials of store STORE_ID (validated by its platform plugin, stored encrypted)."""
    store = connections.set_credentials(store_id, _pairs(values, parse=False))
    click.echo(f"Credentials of store {store_id} saved:")
    for name, value in connections.masked_credentials(store).items():
        click.echo(f"  {name} = {value}")


@stores_cli.command("settings")
@click.argument("store_id", type=int)
@click.argument("values", nargs=-1, required=True, metavar="KEY=VALUE...")
@clear_errors
def settings_command(store_id: int, values: tuple[str, ...]) -> None:
    """Change settings of store STORE_ID, e.g. warehouse_id=1 update_inventory=true.

    Values are read as JSON when they can be (numbers, true/false, null, ["a","b"]).
    """
    store = connections.update_settings(store_id, _pairs(values, parse=True))
    click.echo(f"Settings of store {store_id}:")
    for name, value in sorted(store.settings.items()):
        click.echo(f"  {name} = {json.dumps(value)}")


@stores_cli.command("activate")
@click.argument("store_id", type=int)
@click.option("--key", default=None, help="The store's current connection key (to register its webhooks).")
@clear_errors
def activate_command(store_id: int, key: str | None) -> None:
    """Check the credentials, register webhooks, import categories and activate store STORE_ID."""
    store = connections.activate(store_id, key)
    click.echo(f"Store {store.id} ({store.name}) is {store.status}.")


@stores_cli.command("rotate-key")
@click.argument("store_id", type=int)
@clear_errors
def rotate_key_command(store_id: int) -> None:
    """Issue a new connection key for STORE_ID; the old key and its webhook URL stop working."""
    key = connections.rotate_key(store_id)
    click.echo(f"connection key: {key}")
    click.echo(f"webhook URL: {connections.webhook_url(key)}")
    click.echo("The old key no longer works. Update the webhook URL in the store where needed.")


@stores_cli.command("send-orders")
@click.argument("store_id", type=int)
@click.argument("numbers", nargs=-1, required=True)
@clear_errors
def send_orders_command(store_id: int, numbers: tuple[str, ...]) -> None:
    """Fetch orders NUMBERS from store STORE_ID and book each one that is completed (O2)."""
    from core.integration.manual import send_orders

    for result in send_orders(store_id, list(numbers)):
        invoice = f" → {result.invoice_number}" if result.invoice_number else ""
        reason = f": {result.reason}" if result.reason else ""
        click.echo(f"{result.number}: {result.outcome}{invoice}{reason}")


@stores_cli.command("reprocess")
@click.argument("target_id", metavar="ID", type=int)
@click.option("--held", "--all-held", "held", is_flag=True,
              help="ID is a store: re-process every order of it that needs attention.")
@clear_errors
def reprocess_command(target_id: int, held: bool) -> None:
    """Re-process the held store order ID (O5, O6, O11), or with --held every held order of store ID."""
    from core.integration.manual import reprocess_held, reprocess_order

    results = reprocess_held(target_id) if held else [reprocess_order(target_id)]
    if not results:
        click.echo("No order of this store needs attention.")
    for result in results:
        invoice = f" → {result.invoice_number}" if result.invoice_number else ""
        reason = f": {result.reason}" if result.reason else ""
        click.echo(f"{result.number}: {result.outcome}{invoice}{reason}")


@stores_cli.command("sync-products")
@click.argument("store_id", type=int)
@clear_errors
def sync_products_command(store_id: int) -> None:
    """Reconcile the whole catalog of store STORE_ID (in a worker when REDIS_URL is set)."""
    from core.extensions import db
    from core.integration.product_sync import start_product_sync
    from core.models import ProductSyncRun

    run_id = start_product_sync(store_id).id
    db.session.expire_all()
    run = db.session.get(ProductSyncRun, run_id)
    click.echo(f"Product sync {run.id}: {run.status}.")
    if run.status in ("done", "failed"):
        click.echo(f"created {run.created}, updated {run.updated}, skipped {run.skipped}, failed {run.failed}")
        for row in run.report:
            click.echo(f"  {row.get('outcome')}: {row.get('sku') or row.get('external_id')}: {row.get('reason')}")


@stores_cli.command("reconcile")
@click.argument("store_id", type=int)
@click.option("--since", default=None, metavar="ISO-TIME",
              help="Look at orders changed since this moment (e.g. 2026-11-01 or 2026-11-01T08:00+03:00; "
                   "UTC when no zone) instead of since the store's cursor.")
@clear_errors
def reconcile_command(store_id: int, since: str | None) -> None:
    """Book what store STORE_ID's webhooks missed: its orders and refunds changed since the last run (O12)."""
    from datetime import datetime

    from core.integration.reconcile import reconcile_store
    from core.platform.base import StoreAPIError

    moment = None
    if since is not None:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            raise click.BadParameter(f"'{since}' is not an ISO 8601 time", param_hint="--since") from None
    try:
        report = reconcile_store(store_id, moment)
    except StoreAPIError as error:
        raise click.ClickException(f"The store did not answer as expected: {error}") from None
    click.echo(f"Store {store_id}: {report.summary()}.")
    if report.through is not None:
        click.echo(f"Reconciled through {report.through.isoformat(timespec='seconds')}.")


# -- jobs --------------------------------------------------------------------------------


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    """Run an rq worker for Mizan's background jobs (needs REDIS_URL).

    It also runs rq's scheduler, so failed jobs are retried after their delay, and every
    JOB_RECOVER_INTERVAL seconds queues again the deliveries that were stored but never queued.
    """
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException(
            "REDIS_URL is not set: without Redis, jobs run in-process and no worker is needed. "
            "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run workers."
        )
    from core.jobs import run_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        click.echo(f"Worker listening on queue {app.config['JOB_QUEUE']}{' (burst)' if burst else ''}.")
        run_worker(app, burst=burst)
    except Exception as error:  # e.g. Redis unreachable
        raise click.ClickException(f"The worker stopped: {type(error).__name__}: {error}") from None


@jobs_cli.command("recover")
@click.option("--older-than", "older_than", type=int, default=60, show_default=True,
              help="Seconds a delivery must have waited unprocessed.")
def recover_command(older_than: int) -> None:
    """Queue again the webhook deliveries whose job was lost (e.g. a worker was killed), and
    dispatch the outbox events still waiting (e.g. Redis was down after their commit)."""
    from core.integration.outbox import dispatch_pending, pending_count
    from core.integration.tasks import recover_deliveries

    try:
        count = recover_deliveries(older_than)
    except Exception as error:  # e.g. Redis unreachable
        raise click.ClickException(f"Recovery failed: {type(error).__name__}: {error}") from None
    click.echo(f"Queued {count} deliveries again.")
    dispatched = dispatch_pending()
    waiting = pending_count()
    click.echo(f"Dispatched {dispatched} outbox events; {waiting} still waiting.")
    if waiting:
        raise click.ClickException("Some outbox events could not be queued; is the job queue reachable?")


COMMANDS = (plugins_cli, stores_cli, jobs_cli)
