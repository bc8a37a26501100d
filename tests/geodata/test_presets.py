"""The field mappers: the fast way through a parcel gives what the careful way gives."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodata.designation import beteckning, normalise
from geodata.presets import (
    LANTMATERIET_PARCEL_FIELDS,
    PARCEL_FIELDS,
    MappingError,
    as_uuid,
    parcel_fields,
    parcel_rows,
)

NAMES = st.text(alphabet="abcdeåäöABCÅÄÖ -", min_size=1, max_size=12).filter(str.strip)
PARTS = st.text(alphabet="0123456789sSGA :>\t", min_size=1, max_size=6).filter(str.strip)


@given(trakt=NAMES, block=st.one_of(st.just(""), PARTS), enhet=PARTS)
def test_designation_of_a_parcel_is_the_normalised_one(trakt, block, enhet):
    oid = str(uuid.uuid4())
    out = parcel_fields({"objektidentitet": oid, "kommunkod": "2281", "trakt": trakt,
                         "block": block, "enhet": enhet, "kommunnamn": "Sundsvall"},
                        "lantmateriet")
    expected = beteckning("", normalise(trakt.strip()), block.strip().upper(), enhet.strip())
    assert out["kort_beteckning"] == expected
    assert out["beteckning"] == f"SUNDSVALL {expected}"


def test_identities_are_canonical_text():
    oid = uuid.uuid4()
    assert as_uuid(str(oid).upper()) == str(oid)
    assert as_uuid(f"{{{oid}}}") == str(oid)
    assert as_uuid("OBJECTID 17", "plan") == as_uuid("OBJECTID 17", "plan")  # stable
    assert as_uuid("OBJECTID 17", "plan") != as_uuid("OBJECTID 17", "bestammelse")


def test_missing_identity_is_named():
    with pytest.raises(MappingError, match="missing objektidentitet"):
        parcel_fields({"kommunkod": "2281", "trakt": "ABBOTEN", "enhet": "1"}, "lantmateriet")


VALUES = st.one_of(st.sampled_from([None, "", "2281", " 12 ", "2:6", "s", "Ab", "2024-12-26",
                                    "2024-13-40", str(uuid.UUID(int=7)).upper(), 0, 3]),
                   st.text(max_size=5))
FEATURE = st.fixed_dictionaries({}, optional=dict.fromkeys(LANTMATERIET_PARCEL_FIELDS, VALUES))


@given(st.lists(FEATURE, max_size=3),
    st.sampled_from([{}, {"kommunkod": "2281", "kommunnamn": "Sundsvall"}]))
def test_a_page_at_once_maps_as_feature_by_feature(features, context):
    """The sync maps a page of parcels column-wise; every feature comes out as
    parcel_fields makes it, or rejected with the same reason."""
    fields, mapped = parcel_rows(lambda name: [f.get(name) for f in features], len(features),
                                 "lantmateriet", context)
    assert fields == PARCEL_FIELDS and len(mapped) == len(features)
    for feature, got in zip(features, mapped, strict=True):
        try:
            expected = parcel_fields(feature, "lantmateriet", context)
        except MappingError as exc:
            assert isinstance(got, MappingError) and str(got) == str(exc)
        else:
            assert dict(zip(fields, got, strict=True)) == expected


def test_inspire_parcels_are_mapped_feature_by_feature():
    assert parcel_rows(lambda name: [], 0, "inspire") is None
