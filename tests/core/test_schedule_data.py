"""Schedule data files, calendar arithmetic, names/phrases, performance."""
from __future__ import annotations

import ast
import json
from datetime import date

import pytest

from posyandu.core.schedule import (
    DoseStatus,
    add_months,
    default_schedule,
    dose_name,
    evaluate_child,
    join_vaccine_names,
    national_region,
    parse_age,
    schedule_version,
    series_name,
)
from posyandu.core.schedule.data import DATA_DIR

D = date


# --------------------------------------------------------------------------- ages

@pytest.mark.parametrize("start,months,expected", [
    (D(2024, 1, 31), 1, D(2024, 2, 29)),    # leap February
    (D(2023, 1, 31), 1, D(2023, 2, 28)),
    (D(2024, 1, 31), 2, D(2024, 3, 31)),
    (D(2024, 1, 31), 3, D(2024, 4, 30)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)),
    (D(2024, 2, 29), 48, D(2028, 2, 29)),
    (D(2023, 11, 30), 3, D(2024, 2, 29)),
    (D(2023, 12, 15), 1, D(2024, 1, 15)),   # year roll-over
])
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize("text,months,days", [
    ("0d", 0, 0), ("6w", 0, 42), ("2m", 2, 0), ("6m29d", 6, 29), ("12m-1d", 12, -1),
    ("1y", 12, 0), ("60m-1d", 60, -1),
])
def test_parse_age(text, months, days):
    a = parse_age(text)
    assert (a.months, a.days) == (months, days)


@pytest.mark.parametrize("bad", ["", "2", "m", "2x", "-2m", "1m 2"])
def test_parse_age_rejects(bad):
    with pytest.raises(ValueError):
        parse_age(bad)


def test_age_application():
    # 2024-01-31 + 6w = 2024-03-13 ; + 12m-1d = 2025-01-30 ; + 6m29d = 2024-07-31 + 29 = 08-29
    assert parse_age("6w").add_to(D(2024, 1, 31)) == D(2024, 3, 13)
    assert parse_age("12m-1d").add_to(D(2024, 1, 31)) == D(2025, 1, 30)
    assert parse_age("6m29d").add_to(D(2024, 1, 31)) == D(2024, 8, 29)


# --------------------------------------------------------------------------- data files

def test_rules_file_has_version_and_source_and_every_unverified_item_is_tagged():
    rules = json.loads((DATA_DIR / "schedule-rules-id.json").read_text("utf-8"))
    assert rules["version"] and rules["source"]
    for key, item in rules["defaults"].items():
        assert item["tag"] in ("V", "P", "U") and item["source"], key
    for key, item in rules["cohorts"].items():
        assert item["tag"] in ("V", "P", "U") and item["source"], key
    for code, item in rules["doses"].items():
        assert item["tag"] in ("V", "P", "U") and item["source"], code


def test_calendar_overlay_agrees_with_csv_day_values():
    # The CSV converts months with 30.4375 d; the overlay must stay within 1 day of it.
    for d in default_schedule().doses:
        pairs = [("recommended", d.recommended_age), ("min_age", d.min_age),
                 ("max_age", d.max_age), ("min_interval", d.min_interval)]
        for column, spec in pairs:
            csv_value = d.csv_days[column]
            if spec is None:
                assert csv_value is None, (d.code, column)
                continue
            assert abs(spec.approx_days() - csv_value) <= 1, (d.code, column, spec.text, csv_value)


def test_weeks_keep_exact_csv_day_values():
    sch = default_schedule()
    assert sch.by_code["DPTHBHIB1"].min_age.days == 42
    assert sch.by_code["DPTHBHIB2"].min_age.days == 70
    assert sch.by_code["OPV4"].min_age.days == 98
    assert sch.by_code["PCV3"].min_interval.days == 56


def test_completeness_components_from_csv_tags():
    sch = default_schedule()
    classic = ("HB0", "BCG", "OPV1", "DPTHBHIB1", "OPV2", "DPTHBHIB2", "OPV3", "DPTHBHIB3",
               "OPV4", "IPV1", "MR1")
    assert sch.completeness["IDL2017"].components == classic
    current = sch.completeness["IDL2023"].components
    assert len(current) == 17
    assert set(current) - set(classic) == {"PCV1", "PCV2", "RV1", "RV2", "RV3", "IPV2"}
    assert sch.completeness["IBL"].components == ("PCV3", "DPTHBHIB4", "MR2")


def test_series_positions():
    sch = default_schedule()
    assert [d.code for d in sch.series["DPT-HB-Hib"]] == [
        "DPTHBHIB1", "DPTHBHIB2", "DPTHBHIB3", "DPTHBHIB4"]
    assert [d.code for d in sch.series["Polio-IPV"]] == ["IPV1", "IPV2"]
    assert [d.code for d in sch.series["MR"]] == ["MR1", "MR2"]


def test_national_defaults():
    region = national_region("3171")
    assert region.kabupaten_code == "3171" and region.je_programme is False
    assert region.cohort_born_from["RV"] == D(2023, 5, 16)


def test_version_and_caching():
    assert schedule_version() == default_schedule().data_version
    assert schedule_version().startswith(default_schedule().version + "+")
    assert default_schedule() is default_schedule()


def test_package_is_pure():
    # No Flask / SQLAlchemy imports and no reads of /work/shared in the schedule package.
    pkg = DATA_DIR.parent
    for py in pkg.glob("*.py"):
        src = py.read_text("utf-8")
        assert "/work/shared" not in src
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] in ("flask", "sqlalchemy", "flask_sqlalchemy")
                               for n in names), py


# --------------------------------------------------------------------------- names

def test_parent_friendly_names():
    assert dose_name("OPV1") == "Polio tetes 1"
    assert dose_name("IPV1") == "Polio suntik 1"
    assert dose_name("MR1") == "Campak-Rubela (MR) 1"
    assert dose_name("DPTHBHIB1") == "DPT-HB-Hib 1"
    assert dose_name("mr1", "en") == "Measles-Rubella (MR) 1"
    assert series_name("Polio-IPV") == "Polio suntik"
    assert series_name("MR") == "Campak-Rubela (MR)"
    for d in default_schedule().doses:
        assert d.name_id and d.name_en


def test_join_vaccine_names():
    codes = ["RV1", "PCV1", "OPV2", "DPTHBHIB1"]   # any order -> schedule order
    assert join_vaccine_names(codes) == "DPT-HB-Hib 1, Polio tetes 2, PCV 1 dan Rotavirus 1"
    assert join_vaccine_names(codes, "en") == "DPT-HB-Hib 1, Polio drops 2, PCV 1 and Rotavirus 1"
    assert (join_vaccine_names(codes, prefix=True)
            == "imunisasi DPT-HB-Hib 1, Polio tetes 2, PCV 1 dan Rotavirus 1")
    assert join_vaccine_names(["BCG", "OPV1", "BCG"]) == "BCG dan Polio tetes 1"
    assert join_vaccine_names(["MR1"]) == "Campak-Rubela (MR) 1"
    assert join_vaccine_names([]) == ""
    assert join_vaccine_names(["OPV2", "BCG"], schedule_order=False) == "Polio tetes 2 dan BCG"
    with pytest.raises(ValueError):
        join_vaccine_names(["BCG"], "fr")


def test_join_from_an_evaluation():
    # Born 2024-01-31, today 2024-04-01: the four 2-month doses are due (recommended 03-31).
    child = evaluate_child(D(2024, 1, 31), [("HB0", D(2024, 1, 31)), ("BCG", D(2024, 2, 29)),
                                            ("OPV1", D(2024, 2, 29))], D(2024, 4, 1))
    due = [d.code for d in child.with_status(DoseStatus.DUE, DoseStatus.OVERDUE)]
    assert join_vaccine_names(due) == "DPT-HB-Hib 1, Polio tetes 2, PCV 1 dan Rotavirus 1"
