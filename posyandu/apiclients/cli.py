"""``flask api-clients create|list|rotate|revoke`` for the IT officer (full rights).

Examples::

    flask api-clients create --name "Command centre Gresik" --kabupaten 35.25   # prints the key ONCE
    flask api-clients list
    flask api-clients rotate 3                                                 # prints the new key
    flask api-clients revoke 3

Same rules and audit trail as ``/api/v1/api-clients``; errors name the option (exit 1).
"""
from __future__ import annotations

import sys

import click
import marshmallow as ma
from flask.cli import with_appcontext

from ..errors import Problem, flatten_messages
from ..extensions import db

OPTION_NAMES = {"name": "--name", "kabupaten_code": "--kabupaten", "kind": "--kind"}


@click.group("api-clients", help="Machine clients (the kabupaten command centre) and their API keys.")
def api_clients_group():
    pass


def _fail(detail: str, errors: dict | None) -> None:
    db.session.rollback()
    click.echo(f"Error: {detail}", err=True)
    for field, messages in sorted((errors or {}).items()):
        for message in messages:
            click.echo(f"  {OPTION_NAMES.get(field, field)}: {message}", err=True)
    sys.exit(1)


def _show_key(row, key: str) -> None:
    click.echo(f"API client {row.id} ({row.kind}, kabupaten {row.kabupaten_code}): {row.name}")
    click.echo("API key (shown only now; store it in the command centre's configuration):")
    click.echo(key)


@api_clients_group.command("create")
@click.option("--name", required=True, help="Who uses the key.")
@click.option("--kabupaten", "kabupaten_code", required=True, help="Kabupaten/kota code (35.25 or 3525).")
@with_appcontext
def create_command(name, kabupaten_code):
    """Create a command-centre client; prints its key once."""
    from ..users.operations import SYSTEM_SCOPE
    from .operations import create_client
    from .schemas import ApiClientCreateSchema
    try:
        data = ApiClientCreateSchema().load({"name": name, "kabupaten_code": kabupaten_code})
        row, key = create_client(SYSTEM_SCOPE, data)
    except ma.ValidationError as exc:
        _fail("invalid input", flatten_messages(exc.messages))
    except Problem as exc:
        _fail(exc.detail or exc.title, exc.errors)
    db.session.commit()
    _show_key(row, key)


@api_clients_group.command("list")
@with_appcontext
def list_command():
    """List the clients (never their keys)."""
    from ..users.operations import SYSTEM_SCOPE
    from .operations import list_clients
    for row in list_clients(SYSTEM_SCOPE):
        state = "active" if row.is_active else f"revoked {row.revoked_at:%Y-%m-%d}"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        click.echo(f"{row.id}\t{row.kabupaten_code}\t{row.key_prefix}…\t{state}\tlast used {used}\t{row.name}")


@api_clients_group.command("rotate")
@click.argument("client_id", type=int)
@with_appcontext
def rotate_command(client_id):
    """Give a client a new key (the old one stops working at once); prints it once."""
    from ..users.operations import SYSTEM_SCOPE
    from .operations import rotate_key
    try:
        row, key = rotate_key(SYSTEM_SCOPE, client_id)
    except Problem as exc:
        _fail(exc.detail or exc.title, exc.errors)
    db.session.commit()
    _show_key(row, key)


@api_clients_group.command("revoke")
@click.argument("client_id", type=int)
@with_appcontext
def revoke_command(client_id):
    """Revoke a client: its key answers 401 from now on."""
    from ..users.operations import SYSTEM_SCOPE
    from .operations import revoke_client
    try:
        row = revoke_client(SYSTEM_SCOPE, client_id)
    except Problem as exc:
        _fail(exc.detail or exc.title, exc.errors)
    db.session.commit()
    click.echo(f"Revoked API client {row.id}.")
