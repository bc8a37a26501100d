"""Reading WFS pages in one pass with the feature type's schema (from the real server)."""

from __future__ import annotations

import re

import pytest
import requests

from geodata.sources.gml import GMLError, parse_document, read_features_fast, schema_for_gdal

LAYER = "registerenhetsomradesytor"


@pytest.fixture(scope="module")
def schema(ogc_server):
    answer = requests.get(ogc_server, params={
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "DescribeFeatureType",
        "TYPENAMES": LAYER}, timeout=30)
    assert answer.status_code == 200
    return answer.content


def page(ogc_server, count=3):
    return requests.get(ogc_server, params={
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": LAYER,
        "COUNT": str(count), "SORTBY": "objektidentitet ASC",
        "SRSNAME": "urn:ogc:def:crs:EPSG::3006"}, timeout=30).content


def test_schema_is_made_offline_and_textual(schema):
    assert b"<import" in schema and b'type="integer"' in schema  # as MapServer writes it
    made = schema_for_gdal(schema)
    assert made is not None
    root = parse_document(made)
    assert not [e for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith(
        ("}import", "}include"))]
    types = {e.get("name"): e.get("type") for e in root.iter("{*}element")}
    assert types["omradesnummer"] == "string" and types["kommunkod"] == "string"
    assert types["msGeometry"] == "gml:GeometryPropertyType"


def test_schema_refuses_what_is_not_a_schema():
    assert schema_for_gdal(b"<html>not a schema</html>") is None
    assert schema_for_gdal(b"not xml at all") is None
    with pytest.raises(GMLError):
        parse_document(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>')


def test_page_read_with_the_schema_keeps_every_field_as_written(ogc_server, schema,
                                                                 tmp_path):
    content = page(ogc_server)
    # The first feature lacks etikett and the second writes omradesnummer "01": read in
    # one pass with the schema, the field is still known and the text kept as written.
    first_etikett = re.search(rb"<ms:etikett>[^<]*</ms:etikett>", content)
    assert first_etikett
    content = content[:first_etikett.start()] + content[first_etikett.end():]
    numbers = list(re.finditer(rb"<ms:omradesnummer>1</ms:omradesnummer>", content))
    second = numbers[1]
    content = (content[:second.start()] + b"<ms:omradesnummer>01</ms:omradesnummer>"
               + content[second.end():])
    xsd = tmp_path / "page.xsd"
    xsd.write_bytes(schema_for_gdal(schema))
    fast = read_features_fast(content, xsd)
    assert fast is not None
    ids, columns, shapes = fast
    assert len(ids) == len(columns["etikett"]) == len(shapes) == 3
    assert columns["etikett"][0] == ""
    assert columns["etikett"][1] and columns["etikett"][2]
    assert columns["omradesnummer"][1] == "01"
    assert columns["kommunkod"][0] == "2281"
    assert not list(tmp_path.glob("*.gfs"))  # no guessed schema left to steer a next page
    # Without the schema GDAL scans the page twice to guess the fields, and reads the same
    # values (it adds the envelopes and drops fields empty on the whole page).
    slow = read_features_fast(content)
    assert slow is not None and slow[0] == ids
    for name in ("objektidentitet", "etikett", "omradesnummer", "kommunkod", "trakt"):
        assert columns[name] == slow[1][name]
