"""``flask users create|set-password|disable|enable`` (full rights: the operator is admin).

Examples::

    flask users create --username bidan.kebomas --name "Bidan Sari" --role puskesmas --puskesmas P3525010101
    flask users create --phone 0812-3456-7890 --name "Bu Rina" --role kader --posyandu PY-A1 --posyandu PY-A2
    flask users create --username admin --name Admin --role admin          # password prompted
    flask users set-password kader.melati
    flask users disable 081234567890

The same validation as the admin API; errors name the option and nothing is created (exit 1).
"""
from __future__ import annotations

import sys

import click
import marshmallow as ma
from flask.cli import with_appcontext

from ..errors import Problem, flatten_messages
from ..extensions import db

#: API field -> CLI option, for error messages.
OPTION_NAMES = {"username": "--username", "phone": "--phone", "full_name": "--name", "role": "--role",
                "password": "--password", "posyandu_codes": "--posyandu", "puskesmas_code": "--puskesmas",
                "kabupaten_code": "--kabupaten", "language": "--language"}


@click.group("users", help="Staff and cadre accounts.")
def users_group():
    pass


def _fail(problem_detail: str, errors: dict | None) -> None:
    db.session.rollback()
    click.echo(f"Error: {problem_detail}", err=True)
    for field, messages in sorted((errors or {}).items()):
        for message in messages:
            click.echo(f"  {OPTION_NAMES.get(field, field)}: {message}", err=True)
    sys.exit(1)


def _find(login: str):
    from ..auth.operations import find_by_login
    user = find_by_login(login)
    if user is None:
        click.echo("Error: no such user.", err=True)
        sys.exit(1)
    return user


@users_group.command("create")
@click.option("--username", help="Login name (letters, digits, . _ -).")
@click.option("--phone", help="Phone number (0812…, 62812… or +62812…); can be used to sign in.")
@click.option("--name", "full_name", required=True, help="Full name.")
@click.option("--role", required=True, type=click.Choice(["admin", "dinkes", "puskesmas", "kader"]))
@click.option("--posyandu", "posyandu_codes", multiple=True, help="kader: posyandu code (repeatable).")
@click.option("--puskesmas", "puskesmas_code", help="puskesmas staff: puskesmas code.")
@click.option("--kabupaten", "kabupaten_code", help="dinkes: 4-digit kabupaten code.")
@click.option("--language", default="id", type=click.Choice(["id", "en"]))
@click.option("--password", help="Initial password (prompted, hidden, when omitted).")
@with_appcontext
def create_command(username, phone, full_name, role, posyandu_codes, puskesmas_code, kabupaten_code, language,
                   password):
    """Create a staff or cadre account."""
    from ..users.operations import SYSTEM_SCOPE, create_user
    from ..users.schemas import UserCreateSchema
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    raw = {"username": username, "phone": phone, "full_name": full_name, "role": role,
           "posyandu_codes": list(posyandu_codes), "puskesmas_code": puskesmas_code,
           "kabupaten_code": kabupaten_code, "language": language, "password": password}
    raw = {k: v for k, v in raw.items() if v is not None}
    try:
        data = UserCreateSchema().load(raw)
        user = create_user(SYSTEM_SCOPE, data)
    except ma.ValidationError as exc:
        _fail("invalid input", flatten_messages(exc.messages))
    except Problem as exc:
        _fail(exc.detail or exc.title, exc.errors)
    db.session.commit()
    click.echo(f"Created user {user.id} ({user.role}).")


@users_group.command("set-password")
@click.argument("login")
@click.option("--password", help="New password (prompted, hidden, when omitted).")
@with_appcontext
def set_password_command(login, password):
    """Set a new password (signs the account out everywhere). LOGIN: username or phone."""
    from ..users.operations import SYSTEM_SCOPE, reset_password
    user = _find(login)
    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        reset_password(SYSTEM_SCOPE, user.id, password)
    except Problem as exc:
        _fail(exc.detail or exc.title, exc.errors)
    db.session.commit()
    click.echo(f"Password set for user {user.id}.")


@users_group.command("disable")
@click.argument("login")
@with_appcontext
def disable_command(login):
    """Disable an account (signs it out everywhere). LOGIN: username or phone."""
    from ..users.operations import SYSTEM_SCOPE, set_active
    user = set_active(SYSTEM_SCOPE, _find(login).id, False)
    db.session.commit()
    click.echo(f"Disabled user {user.id}.")


@users_group.command("enable")
@click.argument("login")
@with_appcontext
def enable_command(login):
    """Enable a disabled account. LOGIN: username or phone."""
    from ..users.operations import SYSTEM_SCOPE, set_active
    user = set_active(SYSTEM_SCOPE, _find(login).id, True)
    db.session.commit()
    click.echo(f"Enabled user {user.id}.")
