"""``flask demo load``: the Kabupaten Gresik demo data set (idempotent)."""
import click
from flask.cli import with_appcontext


@click.group("demo", help="Demo data.")
def demo_group():
    pass


@demo_group.command("load")
@with_appcontext
def load_command():
    """Load the demo data set (safe to run again: existing rows are kept)."""
    from ..extensions import db
    from .data import load_demo
    try:
        summary = load_demo()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(str(summary))


#: Where ``make run`` starts the local fake of Google (scripts/dev-run.sh).
DEFAULT_FAKE_GOOGLE_URL = "http://127.0.0.1:8931"


@demo_group.command("parent-token")
@click.argument("phone", required=False)
@with_appcontext
def parent_token_command(phone):
    """Print a Firebase ID token for PHONE (default: the demo parent) from the local fake of
    Google, for ``POST /api/v1/auth/firebase`` on a ``make run`` server. Development only."""
    import json
    import os
    import urllib.error
    import urllib.request

    from flask import current_app

    from ..auth.phones import InvalidPhone, normalise_phone
    from .data import DEMO_PARENT_PHONE
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("demo parent-token is a development tool; refused in production.")
    try:
        phone = normalise_phone(phone or DEMO_PARENT_PHONE)
    except InvalidPhone as exc:
        raise click.BadParameter(str(exc), param_hint="PHONE")
    base = os.environ.get("FIREBASE_FAKE_GOOGLE_URL") or DEFAULT_FAKE_GOOGLE_URL
    uid = "demo-" + phone.lstrip("+")
    project = current_app.config.get("FIREBASE_PROJECT_ID")

    def call(path, body):
        request = urllib.request.Request(base.rstrip("/") + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    try:
        call("/_fake/users", {"uid": uid, "phone_number": phone, "project_id": project})
        token = call("/_fake/id-token", {"uid": uid, "phone_number": phone, "project_id": project})["idToken"]
    except (urllib.error.URLError, OSError) as exc:
        raise click.ClickException(f"The local fake of Google does not answer at {base} ({exc}); "
                                   "start it with `make run` or `python -m posyandu.devtools.fake_google`.")
    click.echo(token)
