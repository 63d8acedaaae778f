"""NIK rules (reporting-id.md §6) and identifier protection, without HTTP."""
from __future__ import annotations

from datetime import date

import pytest

from posyandu.children import crypto
from posyandu.children.nik import child_nik_warnings, clean_number, decode_nik, kk_errors, nik_errors

from .helpers import GIRL_NIK


def test_gresik_girl_nik_decodes_by_hand():
    parts = decode_nik(GIRL_NIK)
    assert (parts.region, parts.day, parts.month, parts.year2, parts.sex, parts.serial) == \
        ("352501", 15, 3, 24, 2, "0001")
    assert nik_errors(GIRL_NIK) == []
    assert child_nik_warnings(GIRL_NIK, birth_date=date(2024, 3, 15), sex=2, desa_code="3525012001") == []


@pytest.mark.parametrize("nik, fragment", [
    ("352501550324000", "16 digits"),          # 15 digits
    ("35250155032400011", "16 digits"),        # 17 digits
    ("35250155O3240001", "16 digits"),         # letter O
    ("0025015503240001", "region"),            # province 00
    ("3500015503240001", "region"),            # kabupaten 00
    ("3525015513240001", "month"),             # month 13
    ("3525015500240001", "month"),             # month 00
    ("3525013203240001", "day"),               # day 32 (neither a man's nor a woman's day)
    ("3525017203240001", "day"),               # woman's day 72 → 32
    ("3525010003240001", "day"),               # day 00
    ("3525013002240001", "day"),               # 30 February
    ("3525015503240000", "serial"),            # serial 0000
])
def test_malformed_niks_are_errors(nik, fragment):
    errors = nik_errors(nik)
    assert errors and any(fragment in e for e in errors), errors


def test_29_february_accepted_in_a_leap_year_only():
    assert nik_errors("3525016902240001") == []      # woman, 29-02-24
    assert nik_errors("3525016902230001") != []      # 29-02-23 does not exist


def test_inconsistencies_are_warnings():
    codes = {w["code"] for w in child_nik_warnings(GIRL_NIK, birth_date=date(2024, 3, 16), sex=1,
                                                   desa_code="3524012001")}
    assert codes == {"nik_birth_date_mismatch", "nik_sex_mismatch", "nik_region_mismatch"}


def test_kk_and_cleaning():
    assert clean_number(" 3525 0155.0324-0001 ") == GIRL_NIK
    assert clean_number("") is None
    assert kk_errors("3525011203200007") == []
    assert kk_errors("352501120320000") != []


def test_protect_encrypts_hmacs_and_masks(app):
    encrypted, digest, masked = crypto.protect(GIRL_NIK)
    assert masked == "3525********0001"
    assert GIRL_NIK not in encrypted
    assert crypto.decrypt(encrypted) == GIRL_NIK
    assert len(digest) == 64 and digest == crypto.lookup_hmac(GIRL_NIK)   # deterministic
    assert crypto.protect(GIRL_NIK)[0] != encrypted                       # random IV
    assert crypto.protect(None) == (None, None, None)
