"""``flask regions import-regions|import-puskesmas|import-posyandu FILE.csv``.

CSV files are UTF-8 (a BOM is fine), comma-separated, with or without a header row (a header
row starts with ``code``; with a header, columns may come in any order). Rows are numbered as
lines of the file (the header is row 1). Every row is validated; bad rows are reported with
their number and reason and the good rows are still imported (upsert by code, so running the
same file again changes nothing). The exit status is 1 when some rows were bad.

- import-regions:   ``code,name[,bps_code]`` (code dotted or undotted; level and parent come
  from the code; parents before children is not required)
- import-puskesmas: ``code,name,kecamatan_code,desa_codes`` (desa codes separated by ``;``)
- import-posyandu:  ``code,name,desa_code,puskesmas_code,session_rule,session_start,session_end[,timezone]``
"""
from __future__ import annotations

import csv
import io
import sys

import click
from flask.cli import with_appcontext

COLUMNS = {
    "regions": ("code", "name", "bps_code"),
    "puskesmas": ("code", "name", "kecamatan_code", "desa_codes"),
    "posyandu": ("code", "name", "desa_code", "puskesmas_code", "session_rule", "session_start",
                 "session_end", "timezone"),
}


@click.group("regions", help="Region hierarchy, puskesmas and posyandu.")
def regions_group():
    pass


def read_rows(text: str, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    """``[(row_number, {column: value})]``; blank lines and ``#`` comment lines are skipped."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows: list[tuple[int, dict]] = []
    header: list[str] | None = None
    first = True
    for cells in reader:
        number = reader.line_num
        if not cells or all(not c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if first:
            first = False
            if cells[0].strip().lower() == "code":
                header = [c.strip().lower() for c in cells]
                continue
        names = header or list(columns)
        rows.append((number, {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(names)}))
    return rows


def _progress(rows, label: str):
    from tqdm import tqdm
    return tqdm(rows, desc=label, unit="row", disable=not sys.stderr.isatty(), file=sys.stderr)


def _run(kind: str, file, dry_run: bool) -> None:
    from ..extensions import db
    from . import operations as ops

    rows = read_rows(file.read(), COLUMNS[kind])
    importer = {"regions": ops.import_regions, "puskesmas": ops.import_puskesmas,
                "posyandu": ops.import_posyandu}[kind]
    try:
        report = importer(_progress(rows, kind))
    except Exception:
        db.session.rollback()
        raise
    for number, message in report.errors:
        click.echo(f"row {number}: {message}", err=True)
    if dry_run:
        db.session.rollback()
        click.echo(report.summary() + " (dry run: nothing saved)")
    else:
        db.session.commit()
        click.echo(report.summary())
    if report.errors:
        sys.exit(1)


_file = click.argument("file", type=click.File("r", encoding="utf-8-sig"))
_dry = click.option("--dry-run", is_flag=True, help="Validate and report, save nothing.")


@regions_group.command("import-regions")
@_file
@_dry
@with_appcontext
def import_regions_command(file, dry_run):
    """Import regions from CSV: code,name[,bps_code]."""
    _run("regions", file, dry_run)


@regions_group.command("import-puskesmas")
@_file
@_dry
@with_appcontext
def import_puskesmas_command(file, dry_run):
    """Import puskesmas from CSV: code,name,kecamatan_code,desa_codes (desa separated by ;)."""
    _run("puskesmas", file, dry_run)


@regions_group.command("import-posyandu")
@_file
@_dry
@with_appcontext
def import_posyandu_command(file, dry_run):
    """Import posyandu from CSV: code,name,desa_code,puskesmas_code,session_rule,session_start,session_end[,timezone]."""
    _run("posyandu", file, dry_run)
