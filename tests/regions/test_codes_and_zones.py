"""Kemendagri code validation (reporting-id.md §5) and time zones by province (posyandu-operations-id.md §6)."""
import pytest

from posyandu.regions import codes
from posyandu.regions.timezones import province, provinces, zone_for_code, zone_label


@pytest.mark.parametrize("raw, undotted, level, parent", [
    ("35", "35", "provinsi", None),
    ("35.25", "3525", "kabupaten", "35"),
    ("3525", "3525", "kabupaten", "35"),
    ("35.25.01", "352501", "kecamatan", "3525"),
    ("35.25.01.2001", "3525012001", "desa", "352501"),
    (" 3525012001 ", "3525012001", "desa", "352501"),
    ("11.03.01.2002", "1103012002", "desa", "110301"),
])
def test_good_codes(raw, undotted, level, parent):
    assert codes.validate(raw) == undotted
    assert codes.level_of(undotted) == level
    assert codes.parent_of(undotted) == parent


def test_dotted_form():
    assert codes.dotted("3525012001") == "35.25.01.2001"
    assert codes.dotted("352501") == "35.25.01"
    assert codes.dotted("35") == "35"


@pytest.mark.parametrize("raw", [
    "", "3", "352", "35250", "3525012", "35250120011", "35.2501", "35.25.01.201", "35-25", "35.25.a1",
    "００", "00", "35.00", "35.25.00", "35.25.01.0000",
    "99", "10.01",  # not a province code
])
def test_bad_codes(raw):
    with pytest.raises(codes.CodeError):
        codes.validate(raw)


def test_level_and_parent_checks():
    assert codes.validate("35.25.01.2001", level="desa", parent="35.25.01") == "3525012001"
    with pytest.raises(codes.CodeError):
        codes.validate("35.25.01", level="desa")
    with pytest.raises(codes.CodeError):
        codes.validate("35.25.01.2001", parent="35.24.01")


@pytest.mark.parametrize("code, zone, label", [
    ("35", "Asia/Jakarta", "WIB"),            # Jawa Timur
    ("3525012001", "Asia/Jakarta", "WIB"),    # a desa in Gresik
    ("51", "Asia/Makassar", "WITA"),          # Bali
    ("91", "Asia/Jayapura", "WIT"),           # Papua
    ("96", "Asia/Jayapura", "WIT"),           # Papua Barat Daya
    ("61", "Asia/Pontianak", "WIB"),          # Kalimantan Barat
    ("62", "Asia/Pontianak", "WIB"),          # Kalimantan Tengah
    ("64", "Asia/Makassar", "WITA"),          # Kalimantan Timur
    ("73", "Asia/Makassar", "WITA"),          # Sulawesi Selatan
    ("81", "Asia/Jayapura", "WIT"),           # Maluku
    ("11", "Asia/Jakarta", "WIB"),            # Aceh
])
def test_zone_by_province(code, zone, label):
    assert zone_for_code(code) == zone
    assert zone_label(zone) == label


def test_province_list_is_complete():
    table = provinces()
    assert len(table) == 38
    assert province("35").name == "Jawa Timur"
    assert province("51").zone_label == "WITA"
    with pytest.raises(KeyError):
        zone_for_code("99")
