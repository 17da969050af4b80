import datetime

import pytest

from protocol import nik


def test_woman_day_plus_40_decodes_sex_and_birth_date():
    n = nik.parse("3372054512900001")
    assert n.sex == "F"
    assert n.birth_date == datetime.date(1990, 12, 5)
    assert n.serial == 1
    assert n.kecamatan_code == "33.72.05"
    assert n.kecamatan == "Banjarsari"
    assert n.city == "Kota Surakarta"
    assert n.province == "Jawa Tengah"


def test_man_keeps_day():
    n = nik.parse("3372010507850123")
    assert (n.sex, n.birth_date, n.serial) == ("M", datetime.date(1985, 7, 5), 123)


def test_two_digit_year_never_in_future():
    n = nik.parse("3372010101100001", today=datetime.date(2026, 11, 22))
    assert n.birth_date.year == 2010
    n = nik.parse("3372010101300001", today=datetime.date(2026, 11, 22))
    assert n.birth_date.year == 1930


def test_spaces_and_dots_are_tolerated():
    assert nik.parse("3372 0545 1290 0001").value == "3372054512900001"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("337205451290001", "length"),
        ("33720545129000011", "length"),
        ("33720545129000X1", "not_digits"),
        ("3372053212900001", "birth_date"),  # 32 December
        ("3372057212900001", "birth_date"),  # woman's 32nd
        ("3372050013900001", "birth_date"),  # month 13
        ("3372053002900001", "birth_date"),  # 30 February
        ("3372050000900001", "birth_date"),  # day 00
        ("3372052902010001", "birth_date"),  # 29 Feb 2001
        ("9999054512900001", "unknown_region"),
        ("3372994512900001", "unknown_region"),  # kecamatan 99 in Solo
        ("3372054512900000", "serial"),
    ],
)
def test_invalid(text, reason):
    with pytest.raises(nik.NIKError) as err:
        nik.parse(text)
    assert err.value.reason_id == reason
    assert not nik.is_valid(text)


def test_leap_day_woman_valid():
    n = nik.parse("3372056902000001")
    assert (n.sex, n.birth_date) == ("F", datetime.date(2000, 2, 29))


def test_make_round_trips():
    text = nik.make("33.72.03", "F", datetime.date(1977, 8, 17), 42)
    n = nik.parse(text)
    assert (n.sex, n.birth_date, n.serial, n.kecamatan_code) == ("F", datetime.date(1977, 8, 17), 42, "33.72.03")


def test_masked_hides_birth_date():
    assert nik.parse("3372054512900001").masked() == "3372********0001"


def test_error_message_does_not_echo_the_number():
    with pytest.raises(nik.NIKError) as err:
        nik.parse("3372053212900001")
    assert "3372053212900001" not in str(err.value)


@pytest.mark.parametrize("text", ["3372053212900001", "3372051313900001", "9999994512900001", "3372053102900001"])
def test_reasons_carry_no_digits_of_the_number(text):
    """A reason travels in a plaintext ack: it names the position, never the date or region it spells."""
    with pytest.raises(nik.NIKError) as err:
        nik.parse(text)
    message = str(err.value)
    for part in (text[:6], text[6:8], text[8:10], text[10:12], "1990", "33.72"):
        assert part not in message.replace("digits 1-6", "").replace("digits 7-12", "").replace(
            "digits 9-10", "").replace("01-12", ""), message


@pytest.mark.parametrize("text", ["337204551\u00b2900001", "3372054512\u0669\u0660\u0660\u0660\u0661"])
def test_digits_that_are_not_ascii_are_not_digits_of_a_nik(text):
    """Found by bench/fuzz.py: str.isdigit() says yes to '²', and int() then raised ValueError."""
    with pytest.raises(nik.NIKError) as err:
        nik.parse(text)
    assert err.value.reason_id == "not_digits"
