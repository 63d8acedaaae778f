"""``flask growth ...``: maintenance of the stored growth results."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from . import operations
from .assessment import standard_version


@click.group("growth", help="Stored growth results (z-scores, categories, N/T/O/B).")
def growth_group():
    pass


@growth_group.command("recompute")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1),
              help="Measurements per batch (whole children; one UPDATE round per batch).")
@click.option("--only-outdated", is_flag=True,
              help="Only children with results from another standard version (or none).")
@with_appcontext
def recompute(batch_size: int, only_outdated: bool):
    """Recompute every stored growth result with the current standard and rules.

    Streams through the measurements child by child (keyset pagination), computes with the
    vectorised engine and writes each batch with one bulk UPDATE, committing per batch. Shows a
    progress bar on a terminal.
    """
    written = operations.recompute_all(db.session, batch_size=batch_size, only_outdated=only_outdated,
                                       progress=True, commit=True)
    db.session.commit()
    click.echo(f"recomputed {written} measurements with {standard_version()}")
