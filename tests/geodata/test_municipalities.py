"""The national list of municipalities, and how a code or name is found in it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from geodata.models import Municipality
from geodata.municipalities import UnknownMunicipality, find, national_list


def test_the_national_list_has_290_municipalities_in_21_counties():
    entries = national_list()
    assert len(entries) == 290
    assert len({e.lanskod for e in entries.values()}) == 21
    assert all(len(code) == 4 and code.isdigit() and code[:2] == e.lanskod
               for code, e in entries.items())
    assert len({e.name for e in entries.values()}) == 290
    assert entries["2262"].name == "Timrå" and entries["2262"].county == "Västernorrlands län"
    assert entries["0980"].name == "Gotland" and entries["0114"].name == "Upplands Väsby"
    assert entries["2584"].name == "Kiruna" and entries["1280"].name == "Malmö"
    # The five RIGES municipalities.
    assert [entries[c].name for c in ("2281", "2280", "2262", "2284", "2282")] == [
        "Sundsvall", "Härnösand", "Timrå", "Örnsköldsvik", "Kramfors"]


@pytest.mark.parametrize("given,code", [
    ("2262", "2262"), (" 2262 ", "2262"), ("114", "0114"), ("Timrå", "2262"),
    ("TIMRÅ", "2262"), ("timrå kommun", "2262"), ("Upplands-Bro", "0139"),
    ("Malung-Sälen", "2023"), ("２２６２", "2262"),  # full-width digits, as typed in CJK input
])
def test_a_municipality_is_found_by_code_or_name(given, code):
    assert find(given).kommunkod == code


@pytest.mark.parametrize("given,nearest", [
    ("2263", ["2262", "2260", "2280"]),
    ("0000", ["0114", "0115", "0117"]),
    ("9999", ["2584", "2583", "2582"]),
    ("Sundsval", ["2281"]),
    ("Örnskoldsvik", ["2284"]),
    ("٢٢٦٢", []),  # digits of another script are not a code (and no name is close)
    ("", []),
])
def test_a_wrong_code_or_name_is_refused_with_the_nearest(given, nearest):
    with pytest.raises(UnknownMunicipality) as caught:
        find(given)
    assert [e.kommunkod for e in caught.value.suggestions][:len(nearest)] == nearest
    assert repr(given) in str(caught.value)


@pytest.mark.django_db
def test_the_admin_refuses_a_code_no_municipality_has():
    with pytest.raises(ValidationError, match="the nearest: 2262 Timrå"):
        Municipality(kommunkod="2263", name="Påhittad").full_clean()
    with pytest.raises(ValidationError, match="four digits, e.g. 0114"):
        Municipality(kommunkod="114", name="Upplands Väsby").full_clean()
    Municipality(kommunkod="2262", name="Timrå").full_clean()
