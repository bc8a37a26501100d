"""The field mappers: the fast way through a parcel gives what the careful way gives."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodata.designation import beteckning, normalise
from geodata.presets import MappingError, as_uuid, parcel_fields

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
