"""The pull cursor's sequence: strictly increasing, never skipping a committed change."""
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
from posyandu.sync.changes import record_change, sequence_pending
from posyandu.sync.models import ChangeLog, SyncCounter

ADMIN = Scope(user_id=0, role="admin")


def test_writers_leave_seq_empty_and_the_sequencer_numbers_in_order(ctx):
    before = db.session.execute(sa.select(SyncCounter.value)).scalar_one()
    child_id = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(3)]
    for entity_id in ids:
        record_change(db.session, entity="measurement", entity_id=entity_id, posyandu_id=1, child_id=child_id)
    db.session.commit()
    rows = db.session.execute(sa.select(ChangeLog.entity_id, ChangeLog.seq).where(ChangeLog.entity_id.in_(ids))).all()
    assert len(rows) == 3 and all(seq is None for _, seq in rows)
    assert sequence_pending(db.session) == before + 3
    db.session.commit()
    seqs = db.session.execute(sa.select(ChangeLog.seq).where(ChangeLog.entity_id.in_(ids))
                              .order_by(ChangeLog.id)).scalars().all()
    assert seqs == [before + 1, before + 2, before + 3]
    assert sequence_pending(db.session) == before + 3  # nothing pending: nothing changes


def test_rolled_back_changes_leave_no_row(ctx):
    before = db.session.execute(sa.select(sa.func.count()).select_from(ChangeLog)).scalar_one()
    nested = db.session.begin_nested()
    record_change(db.session, entity="child", entity_id=uuid.uuid4(), posyandu_id=1, child_id=uuid.uuid4())
    nested.rollback()
    db.session.rollback()
    db.session.commit()
    assert db.session.execute(sa.select(sa.func.count()).select_from(ChangeLog)).scalar_one() == before


def test_same_record_twice_in_one_transaction_is_one_change(ctx):
    record_id, child_id = uuid.uuid4(), uuid.uuid4()
    record_change(db.session, entity="measurement", entity_id=record_id, posyandu_id=1, child_id=child_id)
    record_change(db.session, entity="measurement", entity_id=record_id, posyandu_id=1, child_id=child_id)
    db.session.commit()
    count = sa.select(sa.func.count()).select_from(ChangeLog).where(ChangeLog.entity_id == record_id)
    assert db.session.execute(count).scalar_one() == 1


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_concurrent_writers_never_make_a_reader_skip(app):
    """Writers commit in a random order; a reader pulling all the while must see every change.

    With sequence numbers taken at INSERT time (a plain sequence), a writer that took 10 but
    commits after the one that took 11 makes a reader at cursor 11 skip 10 forever. Here the
    reader's pulls run the sequencer while the writers are committing.
    """
    writers, per_writer = 6, 25
    written: set[uuid.UUID] = set()
    seen_by: list[set[uuid.UUID]] = [set(), set()]  # two readers, so two sequencers race too
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

    def reader(seen: set):
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
        reader_threads = [threading.Thread(target=reader, args=(seen,)) for seen in seen_by]
        writer_threads = [threading.Thread(target=writer) for _ in range(writers)]
        for t in reader_threads + writer_threads:
            t.start()
        for t in writer_threads:
            t.join()
        done.set()
        for t in reader_threads:
            t.join(timeout=60)
        assert not errors, errors
        assert len(written) == writers * per_writer
        for seen in seen_by:
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
