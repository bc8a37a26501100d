"""Proof by fuzzing: the applicant's draft form and the upload check (hypothesis).

- ``DraftForm`` with arbitrary text in every field: it validates (True or False), never
  raises, and what it accepts makes a ``DraftInput``.
- The form's page, ``POST /ansokan/<pk>/redigera/``, through the test client (which
  raises what a 500 would hide): arbitrary text, numbers, corner lines and drawn JSON in
  every field. Never a 500; a post with a refused field changes nothing when the form
  refuses it, and when the service refuses a part (place, site, drawing) the other
  fields are saved and the refused part keeps what was saved before.
- ``check_pdf`` with arbitrary bytes, PDF-shaped bytes, mutations of a real PDF and
  PDFs of random objects: a ``CheckedPDF`` or ``InvalidAttachment``, nothing else.

Each is bounded by ``max_examples`` and derandomized, so CI runs the same examples in the
same time every run (the ``tests/permits/test_hostile_input.py`` corpus holds the known
hostile cases; these look for the unknown ones).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures import generate
from geodata.crs import point_to_srid
from permits.attachments import CheckedPDF, check_pdf
from permits.exceptions import InvalidAttachment
from permits.forms import DraftForm
from permits.models import Application
from permits.views.applicant import _draft_input
from tests.permits import hostile_pdfs
from tests.permits.conftest import fields, pdf_bytes

FIELDS = list(DraftForm.base_fields)
SCALARS = ("case_type", "measure", "description", "building_area_m2", "height_m", "floors",
           "contact_name", "contact_email", "contact_phone")
# What the service may refuse, by the field its error names, and what it keeps then.
PARTS = {"designation": ("location", "parcel"), "corners": ("site",),
         "whole_parcel": ("site",)}

# Text a browser can send (UTF-8 has no lone surrogates).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", " ", "1,5", "1e309", "-0", "0x10", "٣", "²", "1_000", "NaN"]))
X, Y = generate.E0 + 5, generate.N0 + 8
coordinate = st.one_of(st.floats(min_value=X - 50, max_value=X + 50), st.floats(), text)
corner_lines = st.lists(
    st.tuples(coordinate, st.floats(min_value=Y - 50, max_value=Y + 50) | st.floats(),
              st.sampled_from([" ", ",", ";", "\t", ", "])).map(
        lambda t: f"{t[0]}{t[2]}{t[1]}"),
    max_size=8).map("\n".join)
lonlat = st.tuples(st.floats(16.0, 18.5), st.floats(61.5, 63.0))
json_value = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20)
geometry = st.one_of(
    st.builds(lambda c: {"type": "Point", "coordinates": list(c)}, lonlat),
    st.builds(lambda cs: {"type": "LineString", "coordinates": [list(c) for c in cs]},
              st.lists(lonlat, max_size=5)),
    st.builds(lambda cs: {"type": "Polygon", "coordinates": [[list(c) for c in cs]]},
              st.lists(lonlat, max_size=6)),
    st.builds(lambda t, c: {"type": t, "coordinates": c},
              st.sampled_from(["Polygon", "MultiPolygon", "Circle", "GeometryCollection"]),
              json_value),
    json_value)
drawn = st.one_of(
    st.builds(lambda features: json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": kind}, "geometry": g}
        for kind, g in features]}),
        st.lists(st.tuples(st.sampled_from(["byggnad", "tillbyggnad", "x", ""]), geometry),
                 max_size=3)),
    json_value.map(json.dumps), text)
CHOICES = {name: st.sampled_from([str(value) for value, _label in field.choices]) | text
           for name, field in DraftForm.base_fields.items() if hasattr(field, "choices")}
FIELD_VALUES: dict[str, Any] = {**CHOICES,
    "building_area_m2": number, "height_m": number, "floors": number,
    "lat": number | st.floats(61.5, 63.0).map(repr),
    "lon": number | st.floats(16.0, 18.5).map(repr),
    "corners": corner_lines | text, "drawn": drawn,
    "chosen": text | st.uuids().map(str), "whole_parcel": st.sampled_from(["", "on", "x"]),
}
# Each field: as the page sends it (fields()' default: ...), left out (None), or fuzzed.
post_data = st.fixed_dictionaries({
    name: st.one_of(st.just(...), st.just(None), st.just(""), FIELD_VALUES.get(name, text))
    for name in FIELDS if name != "attachment_file"})
# A few fields fuzzed, the rest as the page sends them: most such posts get past the
# form to the service, where a refused part must not take the rest down with it.
FUZZABLE = [name for name in FIELDS if name != "attachment_file"]
few_fields = st.lists(st.sampled_from(FUZZABLE), min_size=1, max_size=3, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({
        name: st.one_of(st.just(None), st.just(""), FIELD_VALUES.get(name, text))
        for name in names}))


def as_posted(drawn_values: dict[str, Any], **base: Any) -> dict[str, Any]:
    """The page's fields with the drawn values: ... keeps the default, None leaves out."""
    data = fields(**base)
    for name, value in drawn_values.items():
        if value is None:
            data.pop(name, None)
        elif value is not ...:
            data[name] = value
    return data


@settings(max_examples=300, derandomize=True, database=None)
@given(values=post_data | few_fields)
def test_the_draft_form_validates_whatever_it_is_given(values):
    form = DraftForm(as_posted(values))
    if form.is_valid():
        _draft_input(form)
    else:
        assert form.errors


# The form's page.

def snapshot(application: Application) -> dict[str, object]:
    application = Application.objects.get(pk=application.pk)
    return {**{name: getattr(application, name) for name in SCALARS},
            "status": application.status,
            "location": application.location.wkt if application.location else None,
            "parcel": application.parcel_objektidentitet,
            "site": application.site.wkt if application.site else None,
            "drawn": sorted(d.geom.wkt for d in application.drawn.all())}


@pytest.mark.django_db
@settings(max_examples=100, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(values=few_fields | post_data,
       action=st.sampled_from(["save", "search", "choose", "remove-1"]) | text)
def test_the_draft_page_never_fails_and_a_refused_field_loses_nothing(
        applicant, draft, values, action):
    if action == "submit":
        action = "save"  # a sent application is no longer a draft to fuzz
    before = snapshot(draft)
    data = as_posted(values, action=action)
    response = applicant.post(f"/ansokan/{draft.pk}/redigera/", data)
    assert response.status_code in (200, 302), response.status_code
    after = snapshot(draft)
    assert after["status"] == "draft"
    form = DraftForm(data)
    if not form.is_valid():
        assert after == before, form.errors  # a form error saves nothing
        assert response.status_code == 200
        return
    cleaned = _draft_input(form)
    for name in SCALARS:  # the fields the form took are saved, refused part or not
        assert after[name] == getattr(cleaned, name), name
    if response.status_code == 302:
        return
    errors = response.context["form"].errors
    for field, parts in PARTS.items():
        if field in errors:
            for part in parts:
                assert after[part] == before[part], (field, part)
    if "map" in errors and data.get("drawn"):
        assert after["drawn"] == before["drawn"]


@pytest.mark.django_db
def test_a_saved_draft_survives_a_post_that_the_form_refuses(applicant, draft):
    """The property above, for one known case: a number that is not a number."""
    ring = [list(point_to_srid(px, py, 3006, 4326)) for px, py in (
        (X, Y), (X + 12, Y), (X + 12, Y + 10), (X, Y + 10), (X, Y))]
    collection = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "byggnad"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]})
    corners = f"{X} {Y}\n{X + 10} {Y}\n{X + 10} {Y + 8}\n{X} {Y + 8}"
    assert applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        corners=corners, drawn=collection)).status_code == 302
    before = snapshot(draft)
    response = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        corners=corners, building_area_m2="många", description="Ändrad"))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["building_area_m2"]
    assert snapshot(draft) == before  # nothing lost, nothing half-saved
    # and what was typed is still in the form, to send again
    assert "Ändrad" in response.content.decode()


# The upload check.

def _checked(data: bytes) -> CheckedPDF | None:
    upload = SimpleUploadedFile("fuzz.pdf", data, "application/pdf")
    try:
        checked = check_pdf(upload, 0)
    except InvalidAttachment as exc:
        assert str(exc)  # a message to show beside the field
        return None
    assert checked.size == len(data) and checked.pages >= 1
    return checked


PDF = pdf_bytes()
TOKENS = [b"<<", b">>", b"[", b"]", b"/Type", b"/Page", b"/Pages", b"/Kids", b"/Count",
          b"/Contents", b"/Parent", b"/Length", b"/Filter", b"/FlateDecode", b"/LZWDecode",
          b"/ASCIIHexDecode", b"/ASCII85Decode", b"/RunLengthDecode", b"/DecodeParms",
          b"/Predictor", b"/Columns", b"/MediaBox", b"/Resources", b"2 0 R", b"3 0 R",
          b"4 0 R", b"99 0 R", b"0", b"1", b"-1", b"2147483648", b"1e400", b"(x)", b"<4142>",
          b"null", b"true", b"stream\n", b"\nendstream", b"obj", b"endobj", b" ", b"\n"]
pdf_bodies = st.lists(st.sampled_from(TOKENS), max_size=40).map(b" ".join)


@settings(max_examples=600, derandomize=True, database=None)
@given(data=st.one_of(
    st.binary(max_size=2000),
    st.binary(max_size=2000).map(lambda body: b"%PDF-1.7\n" + body + b"\n%%EOF\n"),
    st.lists(st.tuples(st.integers(0, len(PDF) - 1), st.binary(min_size=1, max_size=8)),
             min_size=1, max_size=6).map(
        lambda edits: _mutate(PDF, edits)),
    st.integers(1, len(PDF)).map(lambda n: PDF[:n]),
    st.tuples(pdf_bodies, pdf_bodies).map(
        lambda pair: hostile_pdfs.one_page(b"<< /Type /Page /Parent 2 0 R " + pair[0] + b" >>",
                                           b"<< " + pair[1] + b" >>")),
    st.tuples(pdf_bodies, st.binary(max_size=200)).map(
        lambda pair: hostile_pdfs.one_page(
            b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
            b"<< /Length %d " % len(pair[1]) + pair[0] + b" >>\nstream\n" + pair[1]
            + b"\nendstream"))))
def test_the_upload_check_accepts_or_refuses_whatever_it_is_given(data):
    _checked(data)


def _mutate(data: bytes, edits: list[tuple[int, bytes]]) -> bytes:
    out = bytearray(data)
    for at, new in edits:
        out[at:at + len(new)] = new
    return bytes(out)


def test_the_control_pdf_is_accepted():
    assert _checked(PDF) is not None
