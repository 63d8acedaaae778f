"""``flask reports <kind> --area LEVEL:CODE --month YYYY-MM -o FILE.xlsx|.csv|.zip``.

For the dinkes' scheduled jobs (cron). Every report of the registry is a subcommand
(``flask reports --help`` lists them)::

    flask reports immunization-coverage --area kabupaten:35.25 --month 2026-11 -o imunisasi.xlsx
    flask reports eppgbm --area puskesmas:P3525010101 --month 2026-11 -o eppgbm.csv
    flask reports vitamin-a-breastfeeding --area kabupaten:35.25 -o vita.zip --by desa --lang en
    flask reports immunization-coverage --area desa:35.25.01.2001 -o - --table uci    # CSV to stdout

The output format follows the file's extension (``.xlsx``, ``.csv`` — one table: ``--table``
when the report has several —, ``.zip`` — every table as CSV); ``-o -`` writes CSV to stdout.
Runs with administrator scope unless ``--as-user USERNAME`` (then exactly what that account may
see: its area, NIK per its role). ``--month`` defaults to this month. Report options:
``--by``, ``--option name=value`` (e.g. ``--option uci_threshold=85``, ``--option nik=masked``).
The file appears complete or not at all (written next to the target, then renamed); a
progress bar counts rows on a terminal. Errors name the option and exit with status 1. Memory
stays bounded for a whole kabupaten (rows stream from the database into the file).

Other modules add commands to the same ``reports`` group (``rebuild-summary``).
"""
from __future__ import annotations

import os
import sys
import tempfile

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..errors import Problem
from ..extensions import db
from . import export, registry
from .areas import current_month, parse_area, parse_month, resolve_area

_OPTION_NAMES = {"area": "--area", "level": "--area", "code": "--area", "month": "--month", "by": "--by",
                 "table": "--table", "nik": "--option nik=…", "include": "--option include=…",
                 "uci_threshold": "--option uci_threshold=…"}


class ReportsGroup(click.Group):
    """The ``reports`` group: its own commands plus one command per registered report kind."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(registry.load_all()))

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        spec = registry.load_all().get(name)
        return _report_command(spec) if spec is not None else None


@click.group("reports", cls=ReportsGroup, help="Reports: download any report as .xlsx, .csv or .zip (scheduled jobs).")
def reports_group():
    pass


def scope_for(username: str | None):
    """Administrator scope, or exactly the scope of the account ``username`` (username or phone)."""
    from ..auth.models import User, UserPosyandu
    from ..auth.scope import Scope
    if not username:
        return Scope(user_id=None, role="admin")
    user = db.session.scalars(sa.select(User).where(sa.or_(User.username == username, User.phone == username))).first()
    if user is None or not user.is_active:
        raise click.BadParameter("no active account with this username or phone", param_hint="--as-user")
    posyandu_ids = frozenset(db.session.scalars(sa.select(UserPosyandu.posyandu_id)
                                                .where(UserPosyandu.user_id == user.id)))
    return Scope(user_id=user.id, role=user.role, posyandu_ids=posyandu_ids, puskesmas_id=user.puskesmas_id,
                 kabupaten_code=user.kabupaten_code)


def _parse_options(values) -> dict:
    options = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r}: write name=value", param_hint="--option")
        options[name.strip()] = text.strip()
    return options


def _report_command(spec: registry.ReportKind) -> click.Command:
    @click.command(spec.kind, help=f"{spec.title_en}. {spec.description_en}".strip())
    @click.option("--area", "area_text", required=True, help="LEVEL:CODE, e.g. kabupaten:35.25, puskesmas:P3525010101.")
    @click.option("--month", "month_text", default=None, help="YYYY-MM (default: this month).")
    @click.option("-o", "--output", required=True, help="FILE.xlsx, FILE.csv, FILE.zip, or - (CSV to stdout).")
    @click.option("--by", default=None, help="Breakdown level below the area (kecamatan, puskesmas, desa, posyandu).")
    @click.option("--table", default=None, help="CSV: the table to write when the report has several.")
    @click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True, help="Labels.")
    @click.option("--delimiter", type=click.Choice(["comma", "semicolon"]), default="comma", show_default=True)
    @click.option("--option", "option_values", multiple=True, metavar="NAME=VALUE", help="A report option.")
    @click.option("--as-user", default=None, help="Run with this account's scope instead of administrator scope.")
    @click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
    @with_appcontext
    def command(area_text, month_text, output, by, table, lang, delimiter, option_values, as_user, progress):
        options = _parse_options(option_values)
        if by:
            options["by"] = by
        if "lang" in spec.options:  # a report that writes text into its rows renders it in --lang
            options.setdefault("lang", lang)
        try:
            scope = scope_for(as_user)
            level, code = parse_area(area_text)
            area = resolve_area(scope, level, code)
            month = parse_month(month_text) if month_text else current_month()
            document = spec.build(scope, area, month, registry.pick_options(spec, options))
            rows = write_document(document, output, language=lang, table_key=table,
                                  delimiter=";" if delimiter == "semicolon" else ",", progress=progress)
            db.session.commit()  # the audit event of an export with identifiers in clear
        except Problem as problem:
            db.session.rollback()
            click.echo(f"Error: {problem.detail or problem.title}", err=True)
            for field, messages in sorted((problem.errors or {}).items()):
                for message in messages:
                    click.echo(f"  {_OPTION_NAMES.get(field, field)}: {message}", err=True)
            sys.exit(1)
        if output != "-":
            click.echo(f"{spec.kind} {area.level} {area.code} {month}: {rows:,} rows -> {output}", err=True)
    return command


def _progress_bar(enabled: bool | None):
    from tqdm import tqdm
    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(unit="row", desc="rows", file=sys.stderr, disable=not show, dynamic_ncols=True, leave=False)


def _csv_table(document, table_key: str | None):
    from ..errors import InvalidInput
    keys = [t.key for t in document.tables]
    if table_key:
        for table in document.tables:
            if table.key == table_key:
                return table
        raise InvalidInput(f"No table {table_key!r}.", errors={"table": [f"Must be one of: {', '.join(keys)}."]})
    if len(document.tables) == 1:
        return document.tables[0]
    raise InvalidInput("This report has several tables: choose one with --table, or write a .zip.",
                       errors={"table": [f"One of: {', '.join(keys)}."]})


def write_document(document, output: str, *, language: str = "id", table_key: str | None = None,
                   delimiter: str = ",", progress: bool | None = None) -> int:
    """Write ``document`` to ``output`` in the format of its extension; returns data rows written."""
    counted = {"rows": 0}
    bar = _progress_bar(progress)

    def tick(n: int) -> None:
        counted["rows"] += n
        bar.update(n)

    try:
        if output == "-":
            table = _csv_table(document, table_key)
            for text in export.iter_csv(table, language=language, delimiter=delimiter, bom=False, progress=tick):
                sys.stdout.write(text)
            sys.stdout.flush()
            return counted["rows"]
        extension = os.path.splitext(output)[1].lower().lstrip(".")
        if extension not in ("xlsx", "csv", "zip"):
            from ..errors import InvalidInput
            raise InvalidInput("The output file ends in .xlsx, .csv or .zip.",
                               errors={"output": ["Use a .xlsx, .csv or .zip file name, or - for stdout."]})
        table = _csv_table(document, table_key) if extension == "csv" else None
        directory = os.path.dirname(os.path.abspath(output))
        handle, partial = tempfile.mkstemp(prefix=".partial-", suffix="." + extension, dir=directory)
        try:
            with os.fdopen(handle, "wb") as file:
                if extension == "xlsx":
                    export.write_xlsx(document, file, language=language, progress=tick, tmpdir=directory)
                elif extension == "csv":
                    export.write_csv(table, file, language=language, delimiter=delimiter, progress=tick)
                else:
                    for chunk in export.iter_zip(document, language=language, delimiter=delimiter, progress=tick):
                        file.write(chunk)
            os.replace(partial, output)
        except BaseException:
            if os.path.exists(partial):
                os.unlink(partial)
            raise
        return counted["rows"]
    finally:
        bar.close()


@reports_group.command("rebuild-summary")
@click.option("--batch", "batch_children", default=2000, show_default=True, help="Children per batch.")
@with_appcontext
def rebuild_summary_command(batch_children):
    """Rebuild the report summary (report_child_month) from the measurements.

    Normally unnecessary: every write keeps it right. Run it once after upgrading to the
    revision that adds it, or after loading measurements behind the application's back.
    """
    from .summary import rebuild_summary
    rows = rebuild_summary(db.session, progress=True, batch_children=batch_children)
    db.session.commit()
    click.echo(f"report summary rebuilt: {rows} child-month rows")
