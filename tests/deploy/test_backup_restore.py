"""deploy/backup.sh and deploy/restore.sh: a round trip through pg_dump/pg_restore on scratch
databases gives back every table row for row, and restore refuses a non-empty target unless
told to replace it."""
from __future__ import annotations

import os
import subprocess
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from posyandu.config import normalise_database_url
from tests.conftest import DEFAULT_PG

from .processes import ROOT, app_environment, flask

pytestmark = [pytest.mark.postgres_only, pytest.mark.real_commits]


@pytest.fixture
def scratch_databases():
    admin_url = sa.make_url(normalise_database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)))
    names = [f"posyandu_backup_{tag}_{uuid.uuid4().hex[:8]}" for tag in ("source", "target")]
    plain = admin_url.set(drivername="postgresql")
    admin = psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True)
    for name in names:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [plain.set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """{table: (rows, md5 of the rows' text in order)} for every table in public."""
    with psycopg.connect(url) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        return {table: tuple(connection.execute(
            f'SELECT count(*), md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) '
            f'FROM "{table}" t').fetchone()) for table in tables}


def script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "deploy" / name), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_backup_then_restore_gives_back_every_row(scratch_databases, tmp_path):
    source, target = scratch_databases
    env = app_environment(source)
    flask(env, "db", "upgrade")
    flask(env, "seed", "world")
    before = fingerprint(source)
    assert before["child"][0] == 4 and before["user_account"][0] > 10 and before["alembic_version"][0] == 1

    # the app's own URL form (postgresql+psycopg://) is accepted too
    made = script("backup.sh", DATABASE_URL=source.replace("postgresql://", "postgresql+psycopg://"),
                  BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP_DAYS="14")
    assert made.returncode == 0, made.stderr
    dump = made.stdout.strip()
    assert dump.startswith(str(tmp_path / "backups" / "posyandu-")) and dump.endswith(".dump")
    assert oct(os.stat(dump).st_mode & 0o777) == "0o600"  # dumps hold personal data
    assert not list((tmp_path / "backups").glob("*.partial"))

    restored = script("restore.sh", dump, target)
    assert restored.returncode == 0, restored.stderr
    assert fingerprint(target) == before

    # a second restore onto the now-filled target is refused unless asked to replace
    again = script("restore.sh", dump, target)
    assert again.returncode == 1 and "--replace" in again.stderr
    with psycopg.connect(target, autocommit=True) as connection:
        connection.execute("DELETE FROM audit_event")
        connection.execute("UPDATE child SET name = 'changed'")
    replaced = script("restore.sh", dump, target, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert fingerprint(target) == before


def test_backup_without_a_database_url_fails_and_leaves_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run([str(ROOT / "deploy" / "backup.sh")], capture_output=True, text=True,
                          env={**env, "BACKUP_DIR": str(tmp_path / "b")}, timeout=30)
    assert done.returncode != 0 and "DATABASE_URL" in done.stderr
    assert not (tmp_path / "b").exists()
