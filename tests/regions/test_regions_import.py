"""``flask regions import-*``: good rows imported, bad rows reported by row number with a
reason (the rest still imported), re-import changes nothing."""
from datetime import time

import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from posyandu.regions.models import Posyandu, Puskesmas, PuskesmasDesa, Region

REGIONS_GOOD = """code,name,bps_code
35,Jawa Timur,
35.25,Kabupaten Gresik,3525
35.25.01.2001,Giri,
35.25.01,Kebomas,3525090
3525012002,Kawisanyar,
51,Bali,
51.71,Kota Denpasar,
51.71.01,Denpasar Selatan,
51.71.01.1001,Sesetan,
"""

REGIONS_BAD = """code,name,bps_code
35,Jawa Timur,
35.26,Kabupaten Sidoarjo,
35.26.1,Typo,
99,Nowhere,
35.27.01,Orphan kecamatan,
35.26.01,,
35.26.02,Buduran,35x
35.26,Sidoarjo again,
35.26.02.2001,Sidokepung,
35.28.01.2001,No parent,
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_import_regions_good_file_and_reimport(app, runner, tmp_path):
    path = _write(tmp_path, "regions.csv", REGIONS_GOOD)
    result = runner.invoke(args=["regions", "import-regions", path])
    assert result.exit_code == 0, result.output
    assert "regions: 9 created, 0 updated, 0 unchanged, 0 bad row(s)" in result.output
    desa = db.session.get(Region, "3525012001")
    assert (desa.level, desa.parent_code, desa.name) == ("desa", "352501", "Giri")
    kec = db.session.get(Region, "352501")
    assert (kec.level, kec.parent_code, kec.bps_code) == ("kecamatan", "3525", "3525090")
    assert db.session.get(Region, "51710110" + "01").parent_code == "517101"
    total = _count(Region)

    again = runner.invoke(args=["regions", "import-regions", path])
    assert again.exit_code == 0, again.output
    assert "regions: 0 created, 0 updated, 9 unchanged, 0 bad row(s)" in again.output
    assert _count(Region) == total

    renamed = _write(tmp_path, "renamed.csv", "35.25.01,Kebomas Baru,3525090\n")  # no header row
    result = runner.invoke(args=["regions", "import-regions", renamed])
    assert "regions: 0 created, 1 updated, 0 unchanged" in result.output
    db.session.expire_all()
    assert db.session.get(Region, "352501").name == "Kebomas Baru"


def test_import_regions_bad_rows_reported(app, runner, tmp_path):
    path = _write(tmp_path, "bad.csv", REGIONS_BAD)
    result = runner.invoke(args=["regions", "import-regions", path])
    assert result.exit_code == 1
    out = result.output
    # rows are lines of the file, the header being row 1
    assert "row 4: code:" in out          # 35.26.1: malformed
    assert "row 5: code:" in out and "not a known province" in out  # 99
    assert "row 6: code: parent 35.27" in out
    assert "row 7: name:" in out
    assert "row 8: bps_code:" in out
    assert "row 9: code: 35.26 already given in row 3" in out
    assert "row 10: code: parent 35.26.02" in out  # its parent was a bad row (8)
    assert "row 11: code: parent 35.28.01" in out
    for good_row in ("row 2:", "row 3:"):
        assert good_row not in out
    assert "regions: 2 created, 0 updated, 0 unchanged, 8 bad row(s)" in out
    assert db.session.get(Region, "3526").name == "Kabupaten Sidoarjo"
    assert db.session.get(Region, "3526022001") is None
    assert db.session.get(Region, "99") is None

    again = runner.invoke(args=["regions", "import-regions", path])
    assert "regions: 0 created, 0 updated, 2 unchanged, 8 bad row(s)" in again.output


def test_import_regions_dry_run_saves_nothing(app, runner, tmp_path):
    path = _write(tmp_path, "regions.csv", REGIONS_GOOD)
    result = runner.invoke(args=["regions", "import-regions", "--dry-run", path])
    assert result.exit_code == 0 and "dry run" in result.output
    assert db.session.get(Region, "51") is None


PUSKESMAS = """code,name,kecamatan_code,desa_codes
P3525010101,Puskesmas Kebomas,35.25.01,35.25.01.2001;35.25.01.2002
P3525010102,Puskesmas Bad Kecamatan,35.25.99,35.25.01.2001
P3525010103,Puskesmas Bad Desa,35.25.01,35.25.01.2001;35.25.01.7777
,No code,35.25.01,35.25.01.2001
P3525010104,Puskesmas Cross-border,35.25.01,51.71.01.1001
P3525010105,Puskesmas No desa,35.25.01,
"""

POSYANDU = """code,name,desa_code,puskesmas_code,session_rule,session_start,session_end,timezone
PY-1,Posyandu Melati,35.25.01.2001,P3525010101,nth_weekday:2:TUE,08:00,11:00,
PY-2,Posyandu Mawar,3525012002,P3525010101,day_of_month:10,08.00,11.00,Asia/Makassar
PY-3,Posyandu Bad Rule,35.25.01.2001,P3525010101,nth_weekday:5:TUE,08:00,11:00,
PY-4,Posyandu Bad Times,35.25.01.2001,P3525010101,day_of_month:1,11:00,08:00,
PY-5,Posyandu Unknown Puskesmas,35.25.01.2001,PX,day_of_month:1,08:00,11:00,
PY-6,Posyandu Outside Area,51.71.01.1001,P3525010101,day_of_month:1,08:00,11:00,
PY-7,Posyandu Bad Zone,35.25.01.2001,P3525010101,day_of_month:1,08:00,11:00,Asia/Tokyo
PY-1,Posyandu Melati Duplicate,35.25.01.2001,P3525010101,day_of_month:1,08:00,11:00,
"""


def test_import_puskesmas_and_posyandu(app, runner, tmp_path):
    assert runner.invoke(args=["regions", "import-regions", _write(tmp_path, "r.csv", REGIONS_GOOD)]).exit_code == 0
    pk_path = _write(tmp_path, "pk.csv", PUSKESMAS)
    result = runner.invoke(args=["regions", "import-puskesmas", pk_path])
    out = result.output
    assert result.exit_code == 1
    assert "row 3: kecamatan_code: unknown kecamatan 35.25.99" in out
    assert "row 4: desa_codes: " in out and "35.25.01.7777" in out
    assert "row 5: code:" in out
    assert "row 6: desa_codes: 51.71.01.1001 is outside kabupaten 35.25" in out
    assert "row 7: desa_codes:" in out
    assert "puskesmas: 1 created, 0 updated, 0 unchanged, 5 bad row(s)" in out
    pk = db.session.scalars(sa.select(Puskesmas).where(Puskesmas.code == "P3525010101")).one()
    assert (pk.kecamatan_code, pk.kabupaten_code) == ("352501", "3525")
    assert sorted(db.session.scalars(sa.select(PuskesmasDesa.desa_code).where(
        PuskesmasDesa.puskesmas_id == pk.id))) == ["3525012001", "3525012002"]
    again = runner.invoke(args=["regions", "import-puskesmas", pk_path])
    assert "puskesmas: 0 created, 0 updated, 1 unchanged, 5 bad row(s)" in again.output

    py_path = _write(tmp_path, "py.csv", POSYANDU)
    result = runner.invoke(args=["regions", "import-posyandu", py_path])
    out = result.output
    assert result.exit_code == 1
    assert "row 4: session_rule:" in out
    assert "row 5: session_end:" in out
    assert "row 6: puskesmas_code:" in out
    assert "row 7: desa_code:" in out and "working area" in out
    assert "row 8: timezone:" in out
    assert "row 9: code: PY-1 already given in row 2" in out
    assert "posyandu: 2 created, 0 updated, 0 unchanged, 6 bad row(s)" in out
    p1 = db.session.scalars(sa.select(Posyandu).where(Posyandu.code == "PY-1")).one()
    assert (p1.timezone, p1.timezone_overridden, p1.kabupaten_code) == ("Asia/Jakarta", False, "3525")
    p2 = db.session.scalars(sa.select(Posyandu).where(Posyandu.code == "PY-2")).one()
    assert (p2.timezone, p2.timezone_overridden, p2.session_start) == ("Asia/Makassar", True, time(8, 0))
    events = _count(AuditEvent)

    again = runner.invoke(args=["regions", "import-posyandu", py_path])
    assert "posyandu: 0 created, 0 updated, 2 unchanged, 6 bad row(s)" in again.output
    assert _count(Posyandu) == 2 and _count(AuditEvent) == events

    changed = _write(tmp_path, "py2.csv", POSYANDU.splitlines()[0] + "\n"
                     "PY-1,Posyandu Melati,35.25.01.2001,P3525010101,nth_weekday:-1:fri,07:30,10:30,\n")
    result = runner.invoke(args=["regions", "import-posyandu", changed])
    assert result.exit_code == 0 and "posyandu: 0 created, 1 updated" in result.output
    db.session.expire_all()
    p1 = db.session.get(Posyandu, p1.id)
    assert (p1.session_rule, p1.session_start) == ("nth_weekday:-1:FRI", time(7, 30))


def test_puskesmas_working_area_change_keeps_history(app, runner, tmp_path):
    assert runner.invoke(args=["regions", "import-regions", _write(tmp_path, "r.csv", REGIONS_GOOD)]).exit_code == 0
    runner.invoke(args=["regions", "import-puskesmas", _write(tmp_path, "a.csv", PUSKESMAS.splitlines()[1] + "\n")])
    result = runner.invoke(args=["regions", "import-puskesmas", _write(
        tmp_path, "b.csv", "P3525010101,Puskesmas Kebomas,35.25.01,35.25.01.2001\n")])
    assert "puskesmas: 0 created, 1 updated" in result.output
    links = db.session.scalars(sa.select(PuskesmasDesa).where(PuskesmasDesa.desa_code == "3525012002")).all()
    assert len(links) == 1 and links[0].valid_to is not None  # ended, not deleted
    from posyandu.regions.operations import working_area
    pk = db.session.scalars(sa.select(Puskesmas).where(Puskesmas.code == "P3525010101")).one()
    assert working_area(pk.id) == ["3525012001"]
