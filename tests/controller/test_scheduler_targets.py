"""Targets: the operator's CSV export and the Solo 2013-like target set."""

from __future__ import annotations

import pytest

from controller.scheduler import TargetsError, parse_targets_csv, read_targets_csv, solo_2013_targets
from controller.scheduler.targets import SOLO_2013_RECORDED, SOLO_2013_WAJIB_KTP
from protocol.regions import kelurahan_of_city


def test_a_plain_export_is_read_with_names_and_kecamatan_from_the_region_list():
    text = "kode,wajib_ktp,recorded\n3372011001,12000,11000\n33.72.05.1011,8000,7900\n"
    targets = parse_targets_csv(text)
    assert [t.code for t in targets] == ["33.72.01.1001", "33.72.05.1011"]
    pajang, manahan = targets
    assert (pajang.name, pajang.kecamatan, pajang.remaining) == ("Pajang", "Laweyan", 1000)
    assert (manahan.name, manahan.kecamatan_code, manahan.remaining) == ("Manahan", "33.72.05", 100)


def test_semicolons_bom_thousands_separators_and_an_own_name_are_accepted(tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text("\ufeffNama;Kode Kelurahan;Wajib;Terekam\nKel. Pajang;33.72.01.1001;12.345;11.000\n\n", "utf-8")
    (target,) = read_targets_csv(path)
    assert (target.name, target.wajib_ktp, target.recorded) == ("Kel. Pajang", 12345, 11000)


@pytest.mark.parametrize(
    "row, line, column, words",
    [
        ("9999999999,10,5", 3, "code", "not in the Kemendagri list"),
        ("33.72.01,10,5", 3, "code", "not a kelurahan"),
        ("3372011002,ten,5", 3, "wajib_ktp", "'ten' is not a whole number"),
        ("3372011002,10,-5", 3, "recorded", "'-5' is not a whole number"),
        ("3372011002,10,1.5", 3, "recorded", "'1.5' is not a whole number"),
        ("3372011002,10,11", 3, "recorded", "more than wajib_ktp"),
        ("3372011001,10,5", 3, "code", "already given on line 2"),
    ],
)
def test_errors_name_the_line_and_the_column(row, line, column, words):
    text = "code,wajib_ktp,recorded\n3372011001,100,90\n" + row + "\n"
    with pytest.raises(TargetsError) as caught:
        parse_targets_csv(text, source="export.csv")
    err = caught.value
    assert (err.line, err.column) == (line, column)
    assert words in str(err) and f"line {line}" in str(err) and "export.csv" in str(err)


def test_a_missing_column_is_named_on_the_header_line():
    with pytest.raises(TargetsError) as caught:
        parse_targets_csv("code,wajib_ktp\n3372011001,100\n")
    assert (caught.value.line, caught.value.column) == (1, "recorded")


def test_line_numbers_count_quoted_newlines():
    text = 'code,name,wajib_ktp,recorded\n3372011001,"Pajang\nLor",100,90\n3372011002,x,bad,1\n'
    with pytest.raises(TargetsError) as caught:
        parse_targets_csv(text)
    assert caught.value.line == 4


def test_solo_2013_matches_the_field_facts_exactly_and_plausibly():
    targets = solo_2013_targets()
    assert [t.code for t in targets] == [k.code for k in kelurahan_of_city("33.72")]
    assert sum(t.wajib_ktp for t in targets) == SOLO_2013_WAJIB_KTP == 415_549
    assert sum(t.recorded for t in targets) == SOLO_2013_RECORDED == 383_427
    assert sum(t.remaining for t in targets) == 32_122
    rates = [t.recorded / t.wajib_ktp for t in targets]
    assert all(0.80 < r < 0.99 for r in rates)  # around Solo's 92.26%, never absurd
    sizes = sorted(t.wajib_ktp for t in targets)
    assert sizes[-1] > 4 * sizes[0]  # kelurahan differ in size, as they do
    assert len({t.kecamatan for t in targets}) == 5


def test_solo_2013_is_the_same_on_every_call():
    assert solo_2013_targets() == solo_2013_targets()


def test_priority_groups_and_coordinates_are_optional_columns():
    text = ("kode;wajib_ktp;terekam;pemilih_pemula;lansia_disabilitas;lat;lon\n"
            "3372011001;1.000;900;30;5;-7,566;110,79\n3372011002;500;450;;;;\n")
    a, b = parse_targets_csv(text)
    assert (a.first_voters, a.home_bound, a.lat, a.lon) == (30, 5, -7.566, 110.79)
    assert (b.first_voters, b.home_bound, b.lat) == (0, 0, None)


@pytest.mark.parametrize("row, column", [("3372011001,100,90,8,5,,", "first_voters"),
                                        ("3372011001,100,90,0,0,-7.5,", "lat"),
                                        ("3372011001,100,90,0,0,95,110", "lat")])
def test_bad_priority_counts_and_coordinates_name_the_column(row, column):
    with pytest.raises(TargetsError) as caught:
        parse_targets_csv("code,wajib_ktp,recorded,first_voters,home_bound,lat,lon\n" + row + "\n")
    assert caught.value.column == column and caught.value.line == 2


def test_province_scale_targets_spread_the_backlog_by_village_size():
    from controller.scheduler.targets import synthetic_targets

    targets = synthetic_targets("33.72", 32_000)
    assert [t.code for t in targets] == [k.code for k in kelurahan_of_city("33.72")]
    assert sum(t.remaining for t in targets) == 32_000
    by_size = sorted(targets, key=lambda t: t.wajib_ktp)
    assert by_size[-1].remaining > by_size[0].remaining
    assert synthetic_targets("33.72", 32_000) == targets
