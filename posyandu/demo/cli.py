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
    from .data import load_demo
    summary = load_demo()
    click.echo(summary)
