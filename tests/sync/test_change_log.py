"""The pull cursor's sequence: strictly increasing, assigned at commit, never skipping a change."""
from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from posyandu.auth.scope import Scope
from posyandu.extensions import db
from posyandu.sync import pull as pull_ops
from posyandu.sync.changes import record_change
from posyandu.sync.models import ChangeLog, SyncCounter

ADMIN = Scope(user_id=0, role="admin")


def test_sequence_numbers_are_consecutive_per_commit(ctx):
    before = db.session.execute(sa.select(SyncCounter.value)).scalar_one()
    child_id = uuid.uuid4()
    for _ in range(3):
        record_change(db.session, entity="measurement", entity_id=uuid.uuid4(), posyandu_id=1, child_id=child_id)
    db.session.commit()
    seqs = db.session.execute(sa.select(ChangeLog.seq).where(ChangeLog.seq > before).order_by(ChangeLog.seq)).scalars().all()
    assert seqs == [before + 1, before + 2, before + 3]


def test_rolled_back_changes_get_no_sequence(ctx):
    before = db.session.execute(sa.select(SyncCounter.value)).scalar_one()
    nested = db.session.begin_nested()
    record_change(db.session, entity="child", entity_id=uuid.uuid4(), posyandu_id=1, child_id=uuid.uuid4())
    nested.rollback()
    db.session.rollback()
    db.session.commit()
    assert db.session.execute(sa.select(SyncCounter.value)).scalar_one() == before


def test_same_record_twice_in_one_transaction_is_one_change(ctx):
    before = db.session.execute(sa.select(SyncCounter.value)).scalar_one()
    record_id, child_id = uuid.uuid4(), uuid.uuid4()
    record_change(db.session, entity="measurement", entity_id=record_id, posyandu_id=1, child_id=child_id)
    record_change(db.session, entity="measurement", entity_id=record_id, posyandu_id=1, child_id=child_id)
    db.session.commit()
    assert db.session.execute(sa.select(SyncCounter.value)).scalar_one() == before + 1


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_concurrent_writers_never_make_a_reader_skip(app):
    """Writers commit in a random order; a reader pulling all the while must see every change.

    With sequence numbers taken at INSERT time (a plain sequence), a writer that took 10 but
    commits after the one that took 11 makes a reader at cursor 11 skip 10 forever.
    """
    writers, per_writer = 6, 25
    written: set[uuid.UUID] = set()
    seen: set[uuid.UUID] = set()
    lock = threading.Lock()
    done = threading.Event()
    errors: list[BaseException] = []
    posyandu_marker = 900000 + random.randint(0, 99999)

    def writer():
        try:
            with app.app_context():
                for _ in range(per_writer):
                    record_id = uuid.uuid4()
                    record_change(db.session, entity="measurement", entity_id=record_id,
                                  posyandu_id=posyandu_marker, child_id=uuid.uuid4())
                    db.session.flush()
                    time.sleep(random.random() * 0.004)  # commit in a shuffled order
                    db.session.commit()
                    with lock:
                        written.add(record_id)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    scope = Scope(user_id=0, role="kader", posyandu_ids=frozenset({posyandu_marker}))

    start = _position(app)  # before any writer starts

    def reader():
        try:
            with app.app_context():
                cursor = pull_ops.encode_cursor({"phase": "changes", "seq": start})
                while True:
                    finished = done.is_set()
                    page = pull_ops.pull(scope, cursor, limit=50)
                    db.session.rollback()  # a fresh snapshot for the next page
                    seen.update(uuid.UUID(item["id"]) for item in page["changes"])
                    cursor = page["cursor"]
                    if finished and not page["has_more"]:
                        break
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    try:
        reader_thread = threading.Thread(target=reader)
        writer_threads = [threading.Thread(target=writer) for _ in range(writers)]
        reader_thread.start()
        for t in writer_threads:
            t.start()
        for t in writer_threads:
            t.join()
        done.set()
        reader_thread.join(timeout=60)
        assert not errors, errors
        assert len(written) == writers * per_writer
        assert seen == written
    finally:
        with app.app_context():
            db.session.execute(sa.delete(ChangeLog).where(ChangeLog.posyandu_id == posyandu_marker))
            db.session.commit()


def _position(app) -> int:
    with app.app_context():
        value = db.session.execute(sa.select(SyncCounter.value)).scalar_one()
        db.session.remove()
        return value
