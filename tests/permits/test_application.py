"""The applicant's path, through the real views, database and geodata cache."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtures import generate
from geodata.models import Parcel
from permits.models import Application, Attachment, Feedback
from tests.permits.conftest import fields, pdf_upload

pytestmark = pytest.mark.django_db


def edit(client, application, **overrides):
    return client.post(f"/ansokan/{application.pk}/redigera/", fields(**overrides))


def test_guidance_ends_in_case_type_and_documents(client):
    page = client.get("/ansokan/", {"answer": "bygga-nytt"}).content.decode()
    assert 'id="guidance-case-type">bygglov (BL)<' in page
    assert "situationsplan" in page and "fasadritning" in page
    fireplace = client.get("/ansokan/", {"answer": "eldstad"}).content.decode()
    assert 'id="guidance-case-type">anmälan (ANM)<' in fireplace
    wrong = client.get("/ansokan/", {"answer": "flyga"})
    assert 'class="error-summary"' in wrong.content.decode()


def test_draft_is_saved_and_resumed_with_the_property(applicant, draft):
    response = edit(applicant, draft)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.property_designation == "SUNDSVALL ABBOTEN 1"
    assert draft.height_m == 6.5 and draft.floors == 1
    page = applicant.get(f"/ansokan/{draft.pk}/redigera/").content.decode()
    assert "SUNDSVALL ABBOTEN 1" in page and "Ett enbostadshus i ett plan." in page
    assert "2281-P" in page  # the plan that covers the property
    assert "Marken får inte förses med byggnad" in page
    home = applicant.get("/").content.decode()
    assert f"/ansokan/{draft.pk}/redigera/" in home


def test_keyboard_path_search_choose_whole_parcel(applicant, draft):
    found = applicant.post(f"/ansokan/{draft.pk}/redigera/",
                           fields(lat="", lon="", designation="tomming 2 :6", action="search"))
    page = found.content.decode()
    assert found.status_code == 200 and "SUNDSVALL TOMMING 2:6" in page
    parcel = Parcel.objects.filter(beteckning="SUNDSVALL TOMMING 2:6").first()
    chosen = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        lat="", lon="", chosen=str(parcel.objektidentitet), whole_parcel="on", action="choose"))
    assert chosen.status_code == 302
    draft.refresh_from_db()
    assert draft.property_designation == "SUNDSVALL TOMMING 2:6"
    assert draft.site_is_whole_parcel
    assert draft.site.area == pytest.approx(parcel.geom.area, rel=1e-6)


def test_address_search_leads_to_its_property(applicant, draft):
    page = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        lat="", lon="", designation="Storgatan 1", action="search")).content.decode()
    assert "Storgatan 1, Sundsvall (SUNDSVALL" in page


def test_corner_coordinates_and_their_errors(applicant, draft):
    x, y = generate.E0 + 5, generate.N0 + 10
    corners = f"{x} {y}\n{x + 10} {y}\n{x + 10} {y + 8}\n{x} {y + 8}"
    assert edit(applicant, draft, corners=corners).status_code == 302
    draft.refresh_from_db()
    assert draft.site.area == pytest.approx(80.0)
    swapped = "\n".join(" ".join(reversed(line.split())) for line in corners.splitlines())
    bad = edit(applicant, draft, corners=swapped, description="Ändrad text")
    page = bad.content.decode()
    assert bad.status_code == 200 and "SWEREF 99 TM" in page and 'id="error-summary"' in page
    draft.refresh_from_db()
    assert draft.description == "Ändrad text"  # the rest was saved, nothing lost


def test_drawn_footprint_is_stored_with_its_area(applicant, draft):
    from geodata.crs import point_to_srid

    x, y = generate.E0 + 5, generate.N0 + 8
    ring = [point_to_srid(px, py, 3006, 4326) for px, py in (
        (x, y), (x + 12, y), (x + 12, y + 10), (x, y + 10), (x, y))]
    drawn = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "byggnad"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    assert edit(applicant, draft, drawn=json.dumps(drawn)).status_code == 302
    feature = draft.drawn.get()
    assert feature.kind == "byggnad" and feature.area_m2 == pytest.approx(120.0, abs=0.1)
    garbage = edit(applicant, draft, drawn="{not json")
    assert garbage.status_code == 200 and draft.drawn.count() == 1


def test_a_pdf_is_accepted_and_other_files_are_refused(applicant, draft, settings):
    ok = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        attachment_kind="situationsplan", attachment_file=pdf_upload(), action="upload"))
    assert ok.status_code == 302
    attachment = Attachment.objects.get(application=draft)
    assert attachment.pages == 1 and attachment.kind == "situationsplan"
    fake = SimpleUploadedFile("ritning.pdf", b"GIF89a not a pdf at all", "application/pdf")
    refused = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        attachment_kind="planritning", attachment_file=fake, action="upload"))
    assert "ritning.pdf" in refused.content.decode() and "PDF" in refused.content.decode()
    assert Attachment.objects.filter(application=draft).count() == 1
    settings.LOVKARTA_ATTACHMENT_MAX_BYTES = 1000
    big = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        attachment_kind="planritning", attachment_file=pdf_upload("stor.pdf"), action="upload"))
    assert "stor.pdf" in big.content.decode() and Attachment.objects.count() == 1
    settings.LOVKARTA_ATTACHMENT_MAX_BYTES = 10_000_000
    settings.LOVKARTA_ATTACHMENT_MAX_COUNT = 1
    many = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        attachment_kind="planritning", attachment_file=pdf_upload("tva.pdf"), action="upload"))
    assert many.status_code == 200 and Attachment.objects.count() == 1


def submit(client, application, **overrides):
    client.post(f"/ansokan/{application.pk}/redigera/", fields(
        attachment_kind="situationsplan", attachment_file=pdf_upload(), action="upload"))
    return edit(client, application, action="submit", **overrides)


def test_submit_gives_a_case_number_receipt_and_email(applicant, draft):
    response = submit(applicant, draft)
    assert response.status_code == 302 and response["Location"] == f"/ansokan/{draft.pk}/"
    draft.refresh_from_db()
    assert draft.status == "submitted" and draft.case_number.startswith("BYGG 20")
    assert draft.municipality.kommunkod == "2281"
    assert mail.outbox and draft.case_number in mail.outbox[0].subject
    page = applicant.get(response["Location"]).content.decode()
    assert draft.case_number in page and "SUNDSVALL ABBOTEN 1" in page
    receipt = applicant.get(f"/ansokan/{draft.pk}/kvitto.pdf")
    assert receipt["Content-Type"] == "application/pdf"
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(receipt.content))
    text = "".join(p.extract_text() for p in reader.pages)
    assert draft.case_number in text and "situationsplan.pdf" in text
    assert sum(len(p.images) for p in reader.pages) == 1  # the situation map


def test_submit_without_the_site_plan_is_refused(applicant, draft):
    response = edit(applicant, draft, action="submit")
    assert response.status_code == 200 and "situationsplan" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.case_number is None


def test_double_submit_makes_one_application(applicant, draft):
    first = submit(applicant, draft)
    second = edit(applicant, draft, action="submit")
    assert first["Location"] == f"/ansokan/{draft.pk}/"
    assert second.status_code == 302  # the form of a sent application leads to its page
    assert Application.objects.exclude(case_number=None).count() == 1
    assert len(mail.outbox) == 1


def test_another_applicant_gets_404(applicant, draft, client):
    submit(applicant, draft)
    attachment = Attachment.objects.get(application=draft)
    other = User.objects.create_user("annan", password="x-secret-123")
    client.force_login(other)
    for url in (f"/ansokan/{draft.pk}/", f"/ansokan/{draft.pk}/redigera/",
                f"/ansokan/{draft.pk}/kvitto.pdf",
                f"/ansokan/{draft.pk}/bilaga/{attachment.pk}/"):
        assert client.get(url).status_code == 404, url


def test_submit_works_when_the_sources_are_down(applicant, draft, settings):
    from geodata.models import Source

    Source.objects.update(url="http://127.0.0.1:9/lovkarta")
    settings.LOVKARTA_BACKGROUND_WMS = "http://127.0.0.1:9/lovkarta"
    response = submit(applicant, draft)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.property_designation == "SUNDSVALL ABBOTEN 1"
    assert applicant.get(f"/ansokan/{draft.pk}/kvitto.pdf").status_code == 200


def test_feedback_after_submitting(applicant, draft):
    submit(applicant, draft)
    bad = applicant.post(f"/ansokan/{draft.pk}/omdome/", {"rating": "9"})
    assert bad.status_code == 200 and not Feedback.objects.exists()
    applicant.post(f"/ansokan/{draft.pk}/omdome/", {"rating": "4", "comment": "Smidigt!"})
    assert Feedback.objects.get(application=draft).rating == 4


def test_officer_sees_the_application(applicant, draft, client, demo_users):
    submit(applicant, draft)
    client.force_login(demo_users["handlaggare"])
    page = client.get("/handlaggare/ansokningar/").content.decode()
    draft.refresh_from_db()
    assert draft.case_number in page and "SUNDSVALL ABBOTEN 1" in page
    # Staff are sent from the applicant's page to the case page.
    response = client.get(f"/ansokan/{draft.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/handlaggare/arenden/{draft.pk}/"
    assert client.get(response["Location"]).status_code == 200


def test_applicant_may_not_open_the_officer_page(applicant):
    assert applicant.get("/handlaggare/ansokningar/").status_code == 403


def test_pin_outside_sweden_is_refused(applicant, draft):
    response = edit(applicant, draft, lat="48.85", lon="2.35")
    assert response.status_code == 200 and "Sverige" in response.content.decode()


def test_case_numbers_follow_each_other(applicant):
    numbers = []
    for _ in range(3):
        applicant.post("/ansokan/ny/", {"answer": "bygga-nytt"})
        application = Application.objects.latest("created_at")
        submit(applicant, application)
        application.refresh_from_db()
        numbers.append(application.case_number[-6:])
    assert numbers == ["000001", "000002", "000003"]


def test_point_is_stored_in_sweref99tm(applicant, draft):
    edit(applicant, draft)
    draft.refresh_from_db()
    assert draft.location.srid == 3006
    assert draft.location.x == pytest.approx(generate.E0 + 12.0, abs=0.01)


def test_statistics_count_applications_and_feedback(applicant, draft, client):
    submit(applicant, draft)
    applicant.post(f"/ansokan/{draft.pk}/omdome/", {"rating": "5", "comment": "Bra"})
    figures = client.get("/statistik/", {"format": "json"}).json()
    assert figures["applications"] == 1 and figures["by_case_type"] == {"BL": 1}
    assert figures["feedback"] == {"answers": 1, "average_rating": 5.0,
                                   "distribution": {"5": 1}}
    assert "Bra" not in str(figures)  # comments are not published
    page = client.get("/statistik/").content.decode()
    assert 'id="stat-applications"' in page
