import pytest

from protocol import regions


def test_surakarta_has_5_kecamatan_54_kelurahan():
    ks = regions.kelurahan_of_city(regions.SURAKARTA)
    assert len(ks) == 54
    assert len({k.kecamatan_code for k in ks}) == 5
    assert {k.city for k in ks} == {"Kota Surakarta"}
    assert [k.code for k in ks] == sorted(k.code for k in ks)


def test_kelurahan_lookup_dotted_and_bare():
    a = regions.kelurahan("33.72.01.1001")
    b = regions.kelurahan("3372011001")
    assert a == b
    assert (a.name, a.kecamatan, a.province) == ("Pajang", "Laweyan", "Jawa Tengah")


@pytest.mark.parametrize("code", ["33.72.01.9999", "99.99.99.9999"])
def test_unknown_kelurahan(code):
    with pytest.raises(regions.RegionError, match="not in the Kemendagri list"):
        regions.kelurahan(code)


@pytest.mark.parametrize("code", ["337", "33.72.1", "abc", ""])
def test_malformed_codes(code):
    with pytest.raises(regions.RegionError):
        regions.region(code)


def test_kecamatan_is_not_a_kelurahan():
    with pytest.raises(regions.RegionError, match="not a kelurahan"):
        regions.kelurahan("33.72.01")


def test_city_of_a_kecamatan_refused():
    with pytest.raises(regions.RegionError, match="not a kabupaten/kota"):
        regions.kelurahan_of_city("33.72.01")
