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
