"""``flask fhir export`` (NDJSON per resource type) and ``flask fhir submit`` (to SATUSEHAT).

Both run with an administrator's scope (the CLI is the server operator) and write an audit
event. ``--area`` takes ``level:code`` (``kabupaten:35.25``, ``posyandu:PY-GRS-001``);
``--since``/``--until`` are event dates (inclusive).
"""
from __future__ import annotations

import sys
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from ..auth.scope import Scope
from ..errors import Problem
from ..extensions import db
from . import export as export_module
from . import mapping, reading

#: The operator at the console: every area.
CLI_SCOPE = Scope(user_id=0, role="admin")


@click.group("fhir", help="SATUSEHAT-compatible FHIR R4: bulk export and submission.")
def fhir_group():
    pass


def _area(text: str | None):
    if text is None:
        return None
    from ..reports.areas import parse_area, resolve_area
    try:
        level, code = parse_area(text)
        return resolve_area(CLI_SCOPE, level, code)
    except Problem as exc:
        raise click.BadParameter(exc.detail or str(exc), param_hint="--area") from None


def _dates(since, until) -> tuple[date | None, date | None]:
    since = since.date() if since else None
    until = until.date() if until else None
    if since and until and until < since:
        raise click.BadParameter("must not be before --since", param_hint="--until")
    return since, until


_types = click.option("--type", "types", multiple=True, type=click.Choice(mapping.RESOURCE_TYPES),
                      help="Resource type (repeatable; default: all).")
_since = click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First event date (YYYY-MM-DD).")
_until = click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last event date (YYYY-MM-DD).")


@fhir_group.command("export")
@click.option("--area", required=True, help="level:code, e.g. kabupaten:35.25")
@_since
@_until
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False),
              help="Directory for <Type>.ndjson files.")
@_types
@click.option("--validate/--no-validate", default=False,
              help="Check every resource against the FHIR R4 models (~0.7 ms each).")
@with_appcontext
def export_command(area, since, until, output, types, validate):
    """Write one NDJSON file per resource type (FHIR Bulk Data shape). Contains NIKs: keep the
    files as safe as the database."""
    area_row = _area(area)
    since, until = _dates(since, until)
    selection = reading.Selection(area=area_row, since=since, until=until)
    ctx = export_module.context_from_config(current_app.config)
    wanted = [t for t in mapping.RESOURCE_TYPES if not types or t in types]
    from tqdm import tqdm
    with tqdm(desc="fhir export", unit="res", disable=not sys.stderr.isatty(), file=sys.stderr) as bar:
        counts = export_module.write_directory(output, selection, ctx, types=wanted, validate=validate,
                                               progress=lambda _type: bar.update())
    export_module.audit_export(area=area_row, since=since, until=until, types=wanted, via="cli", counts=counts)
    db.session.commit()
    for resource_type, count in counts.items():
        click.echo(f"{resource_type}.ndjson: {count}")


@fhir_group.command("submit")
@click.option("--area", default=None, help="level:code (default: everything).")
@_since
@_until
@_types
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Send at most N records this run.")
@click.option("--dry-run", is_flag=True, default=False, help="Map, validate and compare; send and write nothing.")
@with_appcontext
def submit_command(area, since, until, types, limit, dry_run):
    """Send new and changed records to SATUSEHAT (refused unless SATUSEHAT_* are configured).
    Safe to rerun: what the server already holds is not sent again."""
    from .settings import NotConfigured, SatusehatSettings
    from .submit import ORDER, audit_submit, submit
    try:
        settings = SatusehatSettings.from_config(current_app.config)
    except NotConfigured as exc:
        raise click.ClickException(str(exc)) from None
    area_row = _area(area)
    since, until = _dates(since, until)
    selection = reading.Selection(area=area_row, since=since, until=until)
    report = submit(settings, selection, dry_run=dry_run, limit=limit, types=types or ORDER)
    audit_submit(report, area=area_row, since=since, until=until)
    db.session.commit()
    click.echo(report.summary())
    if report.stopped and report.stopped.startswith("server unavailable"):
        sys.exit(3)
