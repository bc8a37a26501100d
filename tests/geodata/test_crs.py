"""CRS forms and axis order: the single place that knows (geodata.crs)."""

from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from geodata.crs import check_sweden, northing_first, parse_crs, point_to_srid, srid_of
from geodata.errors import CRSMismatch


@pytest.mark.parametrize("form,srid,north_first", [
    ("EPSG:3006", 3006, False),
    ("urn:ogc:def:crs:EPSG::3006", 3006, True),
    ("http://www.opengis.net/def/crs/EPSG/0/3006", 3006, True),
    ("urn:ogc:def:crs:EPSG::3014", 3014, True),
    ("EPSG:3021", 3021, False),
    ("urn:ogc:def:crs:EPSG::4326", 4326, True),
    ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, False),
    ("3857", 3857, False),
])
def test_every_form(form, srid, north_first):
    assert srid_of(form) == srid
    assert northing_first(form) is north_first


@pytest.mark.parametrize("bad", ["EPSG:9999", "urn:ogc:def:crs:EPSG::27700", "WGS84", ""])
def test_unknown_crs_is_refused(bad):
    with pytest.raises(CRSMismatch):
        parse_crs(bad)


@pytest.mark.parametrize("language,words", [("sv", "bytt plats"), ("en", "swapped")])
def test_swapped_axes_are_caught_in_the_active_language(language, words):
    check_sweden(617_000, 6_920_000, 3006)
    with translation.override(language), pytest.raises(CRSMismatch, match=words):
        check_sweden(6_920_000, 617_000, 3006)


@pytest.mark.parametrize("bad,sv,en", [
    ("EPSG:abc", "Okänt koordinatsystem 'EPSG:abc'", "Unknown coordinate reference system"),
    ("27700", "EPSG:27700 är inte ett koordinatsystem som stöds",
     "EPSG:27700 is not a supported"),
    ("OGC:CRS85", "OGC-koordinatsystemet 'OGC:CRS85' stöds inte",
     "Unsupported OGC coordinate reference system"),
])
def test_crs_errors_speak_the_active_language(bad, sv, en):
    for language, words in (("sv", sv), ("en", en)):
        with translation.override(language), pytest.raises(CRSMismatch) as refused:
            parse_crs(bad)
        assert words in str(refused.value), (language, str(refused.value))


@given(e=st.floats(300_000, 900_000), n=st.floats(6_150_000, 7_650_000),
       target=st.sampled_from([3007, 3014, 3015, 3018, 4326, 4258, 3857]))
def test_round_trip_keeps_the_millimetre(e, n, target):
    x, y = point_to_srid(e, n, 3006, target)
    back = point_to_srid(x, y, target, 3006)
    assert back == pytest.approx((e, n), abs=0.001)


@given(e=st.floats(300_000, 900_000), n=st.floats(6_150_000, 7_650_000))
def test_rt90_round_trip_within_a_centimetre(e, n):
    # SWEREF 99 <-> RT 90 is a seven-parameter Helmert shift whose inverse PROJ
    # approximates; a few millimetres are lost on the way back and forth.
    x, y = point_to_srid(e, n, 3006, 3021)
    assert point_to_srid(x, y, 3021, 3006) == pytest.approx((e, n), abs=0.01)
