"""Hostile input to the applicant's pages: a form error in the caller's language, never a
500, and nothing the applicant had saved is lost.

Through the real views: the corpus of hostile PDFs (``tests/permits/hostile_pdfs.py``)
uploaded as attachments; drawings, corner coordinates and property choices that cannot be
used; and the PDF receipt of an application whose description is longer than a page.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtures import generate
from geodata.crs import point_to_srid
from permits.models import Application, Attachment
from tests.permits import hostile_pdfs
from tests.permits.conftest import fields, pdf_upload

pytestmark = pytest.mark.django_db


X, Y = generate.E0 + 5, generate.N0 + 8
# The saved site; the form sends it back with every post, as the page does.
CORNERS = f"{X} {Y}\n{X + 10} {Y}\n{X + 10} {Y + 8}\n{X} {Y + 8}"


def edit(client, application, **overrides):
    return client.post(f"/ansokan/{application.pk}/redigera/",
                       fields(**{"corners": CORNERS, **overrides}))


def form_errors(response) -> dict[str, list[str]]:
    """The form's errors as rendered (the page, not a 500), by field ('__all__' for none)."""
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert 'id="error-summary"' in page
    errors = response.context["form"].errors
    for messages in errors.values():
        for message in messages:
            assert message in page.replace("&#x27;", "'").replace("&quot;", '"')
    return {name: list(messages) for name, messages in errors.items()}


@pytest.fixture
def saved(applicant, draft):
    """A draft with a saved site, drawing and attachment: what must survive a bad post."""
    ring = [list(point_to_srid(px, py, 3006, 4326)) for px, py in (
        (X, Y), (X + 12, Y), (X + 12, Y + 10), (X, Y + 10), (X, Y))]
    drawn = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "byggnad"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    assert edit(applicant, draft, drawn=json.dumps(drawn)).status_code == 302
    ok = edit(applicant, draft, attachment_kind="situationsplan",
              attachment_file=pdf_upload(), action="upload")
    assert ok.status_code == 302
    draft.refresh_from_db()
    assert draft.drawn.count() == 1 and draft.site is not None
    assert draft.attachments.count() == 1
    return draft


def snapshot(application: Application) -> dict[str, object]:
    """What the applicant has saved: property, location, site, drawings, attachments."""
    application = Application.objects.get(pk=application.pk)
    return {"property": application.property_designation,
            "parcel": application.parcel_objektidentitet,
            "location": application.location.wkt if application.location else None,
            "site": application.site.wkt if application.site else None,
            "drawn": sorted(d.geom.wkt for d in application.drawn.all()),
            "attachments": sorted(application.attachments.values_list("sha256", flat=True))}


def unchanged(application: Application, before: dict[str, object]) -> None:
    """Assert that what was saved before is still there."""
    assert snapshot(application) == before
    assert before["property"] == "SUNDSVALL ABBOTEN 1" and before["site"] and before["drawn"]


# Hostile PDFs, through the upload of the application form.

@pytest.mark.parametrize("name", hostile_pdfs.CORPUS)
def test_every_hostile_pdf_is_refused_with_a_field_error(applicant, saved, name):
    before = snapshot(saved)
    upload = SimpleUploadedFile(f"{name}.pdf", hostile_pdfs.CORPUS[name](), "application/pdf")
    response = edit(applicant, saved, attachment_kind="planritning", attachment_file=upload,
                    action="upload", description="Skrivet samtidigt")
    errors = form_errors(response)
    assert list(errors) == ["attachment_file"], errors
    assert f"{name}.pdf" in errors["attachment_file"][0]
    assert Attachment.objects.filter(application=saved).count() == 1
    saved.refresh_from_db()
    assert saved.description == "Skrivet samtidigt"  # the rest of the form was saved
    unchanged(saved, before)


@pytest.mark.parametrize("name", hostile_pdfs.TOLERATED)
def test_damaged_pdfs_that_pypdf_repairs_do_not_crash(applicant, draft, name):
    upload = SimpleUploadedFile(f"{name}.pdf", hostile_pdfs.TOLERATED[name](), "application/pdf")
    response = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        attachment_kind="planritning", attachment_file=upload, action="upload"))
    assert response.status_code in (200, 302)


def test_the_pdf_limits_are_settings_named_in_the_message(applicant, draft, settings):
    upload = SimpleUploadedFile("sidor.pdf", hostile_pdfs.too_many_pages(), "application/pdf")
    errors = form_errors(applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        attachment_kind="planritning", attachment_file=upload, action="upload")))
    assert "2500" in errors["attachment_file"][0] and "2000" in errors["attachment_file"][0]
    settings.LOVKARTA_PDF_MAX_ARRAY_ITEMS = 1234
    upload = SimpleUploadedFile("lista.pdf", hostile_pdfs.huge_array(), "application/pdf")
    errors = form_errors(applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        attachment_kind="planritning", attachment_file=upload, action="upload")))
    assert "1234" in errors["attachment_file"][0]
    assert errors["attachment_file"][0].startswith("lista.pdf är uppbyggd på ett sätt")
    settings.LOVKARTA_PDF_MAX_PAGES = 10_000  # a wide tree is refused by its array alone
    upload = SimpleUploadedFile("bred.pdf", hostile_pdfs.wide_page_tree(), "application/pdf")
    assert "bred.pdf" in form_errors(applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        attachment_kind="planritning", attachment_file=upload, action="upload")))[
        "attachment_file"][0]
    assert not Attachment.objects.filter(application=draft).exists()


def test_the_valid_control_of_the_corpus_is_accepted(applicant, draft):
    upload = SimpleUploadedFile("kontroll.pdf", hostile_pdfs.valid(), "application/pdf")
    response = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        attachment_kind="planritning", attachment_file=upload, action="upload"))
    assert response.status_code == 302
    assert Attachment.objects.get(application=draft).pages == 1


# Drawings: the draft's hidden field of GeoJSON, in lon/lat.

def collection(*geometries: object) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "byggnad"}, "geometry": g}
        for g in geometries]})


LON, LAT = point_to_srid(generate.E0 + 5, generate.N0 + 8, 3006, 4326)
HOSTILE_DRAWINGS = {
    "unknown type": collection({"type": "Circle", "coordinates": [LON, LAT]}),
    "one-point line": collection({"type": "LineString", "coordinates": [[LON, LAT]]}),
    "NaN as text": collection({"type": "Point", "coordinates": ["nan", "nan"]}),
    "NaN literal": ('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"geometry": {"type": "Point", "coordinates": [NaN, NaN]}}]}'),
    "a feature collection as the geometry": collection(
        {"type": "FeatureCollection", "features": []}),
    "features not a list": json.dumps({"type": "FeatureCollection", "features": {"a": 1}}),
    "a feature not an object": json.dumps({"type": "FeatureCollection", "features": [1]}),
    "properties not an object": json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": [1], "geometry": {
            "type": "Point", "coordinates": [LON, LAT]}}]}),
    "swapped lon/lat": collection({"type": "Point", "coordinates": [LAT, LON]}),
    "nested very deep": '{"type": "FeatureCollection", "features": ' + "[" * 50_000
                        + "]" * 50_000 + "}",
    "nested deeper than the limit": collection({"type": "Point", "coordinates": [LON, LAT],
                                                "x": json.loads("[" * 25 + "]" * 25)}),
    "too many vertices": collection({"type": "LineString", "coordinates": [
        [LON + i * 1e-7, LAT] for i in range(10_001)]}),
    "too many features": collection(*[{"type": "Point", "coordinates": [LON, LAT]}] * 101),
    "not JSON": "{not json",
    "not a collection": json.dumps({"type": "Point", "coordinates": [LON, LAT]}),
}


@pytest.mark.parametrize("name", HOSTILE_DRAWINGS)
def test_a_hostile_drawing_is_a_form_error_and_loses_nothing(applicant, saved, name):
    before = snapshot(saved)
    response = edit(applicant, saved, drawn=HOSTILE_DRAWINGS[name],
                    description="Ny beskrivning")
    errors = form_errors(response)
    assert errors, name
    unchanged(saved, before)


def test_a_drawing_refused_by_the_service_keeps_the_rest_of_the_form(applicant, saved):
    response = edit(applicant, saved, drawn=HOSTILE_DRAWINGS["one-point line"],
                    description="Ny beskrivning")
    message = form_errors(response)["__all__"][0]
    assert message.startswith("En ritning kunde inte användas: En linje behöver minst två")
    saved.refresh_from_db()
    assert saved.description == "Ny beskrivning" and saved.drawn.count() == 1


def test_drawing_errors_speak_the_users_language(applicant, saved):
    applicant.cookies["django_language"] = "en"
    response = edit(applicant, saved, drawn=HOSTILE_DRAWINGS["too many vertices"])
    message = form_errors(response)["__all__"][0]
    assert message.startswith("A drawing could not be used: The geometry has more vertices")
    assert "10000" in message


# Corners typed as coordinates (SWEREF 99 TM).

x, y = X, Y
HOSTILE_CORNERS = {
    "nan": ("nan nan\nnan nan\nnan nan\nnan nan", "Rad 1 är inte två tal"),
    "infinity": (f"{x} {y}\ninf {y}\n{x} 1e999", "Rad 2 är inte två tal"),
    "one number": (f"{x}\n{x + 10} {y}\n{x} {y + 8}", "Rad 1 är inte två tal"),
    "words": ("öster norr\n1 2\n3 4", "Rad 1 är inte två tal"),
    "two corners": (f"{x} {y}\n{x + 10} {y}", "minst tre hörn"),
    "all the same": "\n".join([f"{x} {y}"] * 4),
    "a line": f"{x} {y}\n{x + 5} {y}\n{x + 10} {y}",
    "bow tie": f"{x} {y}\n{x + 10} {y + 8}\n{x + 10} {y}\n{x} {y + 8}",
    "outside Sweden": ("1 2\n3 4\n5 7", "SWEREF 99 TM"),
    "too many": ("\n".join(f"{x + i % 100} {y + i // 100}" for i in range(20_000)),
                 "10000"),
}


@pytest.mark.parametrize("name", HOSTILE_CORNERS)
def test_hostile_corners_are_a_field_error_and_lose_nothing(applicant, saved, name):
    case = HOSTILE_CORNERS[name]
    text, expected = case if isinstance(case, tuple) else (case, "bildar ingen yta")
    before = snapshot(saved)
    errors = form_errors(edit(applicant, saved, corners=text, description="Ändrad"))
    assert expected in errors["corners"][0], errors
    unchanged(saved, before)
    saved.refresh_from_db()
    assert saved.description == "Ändrad"


# The property chosen from the search results.

@pytest.mark.parametrize("chosen", ["abc", "' OR 1=1 --", "٣" * 32, "0" * 31, "x" * 10_000,
                                    "00000000-0000-4000-8000-000000000000"])
def test_a_property_choice_that_is_not_a_property_is_a_field_error(applicant, saved, chosen):
    before = snapshot(saved)
    errors = form_errors(edit(applicant, saved, lat="", lon="", chosen=chosen,
                              action="choose", description="Valt"))
    assert errors["designation"] == ["Fastigheten hittades inte."], errors
    unchanged(saved, before)


# The receipt of an application whose description does not fit one page.

def _submit(client, application, **overrides: object) -> None:
    client.post(f"/ansokan/{application.pk}/redigera/", fields(
        attachment_kind="situationsplan", attachment_file=pdf_upload(), action="upload",
        **overrides))
    assert edit(client, application, action="submit", **overrides).status_code == 302


def _receipt_text(client, application) -> tuple[int, str]:
    from pypdf import PdfReader

    response = client.get(f"/ansokan/{application.pk}/kvitto.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return len(reader.pages), "".join(p.extract_text() for p in reader.pages)


WORDS = ("Vi vill bygga ett enbostadshus i ett plan med carport och förråd, "
         "placerat minst 4,5 meter från tomtgränsen mot grannen i norr. ")


@pytest.mark.parametrize("description,several_pages", [
    ((WORDS * 300)[:20_000], True),
    ("\n".join(f"Rad {n}" for n in range(1_000)), True),
    ("\n" * 20_000 + "Slut", False),  # runs of blank lines are kept as one
    ("Ö" * 20_000, True),
    ("<b>&amp; " * 2_000, True),
], ids=["words", "lines", "blank-lines", "one-word", "markup"])
def test_the_receipt_is_made_for_a_description_longer_than_a_page(applicant, draft,
                                                                   description,
                                                                   several_pages):
    _submit(applicant, draft)
    Application.objects.filter(pk=draft.pk).update(description=description)
    draft.refresh_from_db()
    pages, text = _receipt_text(applicant, draft)
    assert (pages > 1) is several_pages
    assert draft.case_number in text
    flat = "".join(text.split())
    tail = "".join(description.split())[-40:]
    assert tail in flat  # the end of the description is on the receipt


def test_a_description_the_form_accepts_fits_the_receipt(applicant, draft):
    # 2,000 short lines are within the form's 4,000 characters, and were one table row
    # some thirty pages tall.
    description = "\n".join(["x"] * 2_000)
    _submit(applicant, draft, description=description)
    draft.refresh_from_db()
    assert draft.description.count("x") == 2_000
    pages, text = _receipt_text(applicant, draft)
    assert pages > 1 and draft.case_number in text


@pytest.mark.parametrize("lat,lon", [("1e308", "-1e308"), ("nan", "nan"), ("inf", "17"),
                                     ("17.3", "62.4"), ("90", "180")])
def test_a_pin_that_cannot_be_in_sweden_is_a_form_error(applicant, saved, lat, lon):
    before = snapshot(saved)
    errors = form_errors(edit(applicant, saved, lat=lat, lon=lon))
    assert errors, errors
    unchanged(saved, before)
