"""Submitting an application through the form: parcel join, idempotency, access."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User

from fixtures import generate
from geodata.crs import point_to_srid
from permits.models import Application

pytestmark = pytest.mark.django_db

LON, LAT = point_to_srid(generate.E0 + 10.0, generate.N0 + 20.0, 3006, 4326)


def form_data(**overrides):
    data = {"case_type": "BL", "measure": "nybyggnad",
            "description": "Ett enbostadshus i ett plan.", "lat": f"{LAT:.8f}",
            "lon": f"{LON:.8f}", "submission_key": str(uuid.uuid4())}
    data.update(overrides)
    return data


@pytest.fixture
def applicant_client(client, demo_users, demo_data):
    client.force_login(demo_users["sokande"])
    return client


def test_submit_links_the_parcel_under_the_pin(applicant_client):
    response = applicant_client.post("/ansokan/ny/", form_data())
    assert response.status_code == 302
    application = Application.objects.get()
    assert response["Location"] == f"/ansokan/{application.pk}/"
    assert application.property_designation == "SUNDSVALL ABBOTEN 1"
    assert application.parcel.beteckning == "SUNDSVALL ABBOTEN 1"
    assert application.municipality.kommunkod == "2281"
    assert application.case_number.startswith("BYGG 20") and application.case_number.endswith(
        "-000001")
    assert application.location.srid == 3006
    assert application.location.x == pytest.approx(generate.E0 + 10.0, abs=0.01)
    receipt = applicant_client.get(response["Location"])
    assert "SUNDSVALL ABBOTEN 1" in receipt.content.decode()


def test_double_submit_makes_one_application(applicant_client):
    data = form_data()
    first = applicant_client.post("/ansokan/ny/", data)
    second = applicant_client.post("/ansokan/ny/", data)
    assert first["Location"] == second["Location"]
    assert Application.objects.count() == 1


def test_case_numbers_follow_each_other(applicant_client):
    for _ in range(3):
        applicant_client.post("/ansokan/ny/", form_data())
    numbers = sorted(Application.objects.values_list("case_number", flat=True))
    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]


def test_missing_pin_is_refused_and_nothing_is_stored(applicant_client):
    response = applicant_client.post("/ansokan/ny/", form_data(lat="", lon=""))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="error-summary"' in page
    assert "Markera platsen på kartan." in page or "Pin the location on the map." in page
    assert "Ett enbostadshus i ett plan." in page  # the applicant's text is kept
    assert Application.objects.count() == 0


def test_pin_outside_sweden_is_refused(applicant_client):
    response = applicant_client.post("/ansokan/ny/", form_data(lat="48.85", lon="2.35"))
    assert response.status_code == 200 and Application.objects.count() == 0


def test_another_applicant_gets_404(applicant_client, client):
    applicant_client.post("/ansokan/ny/", form_data())
    application = Application.objects.get()
    other = User.objects.create_user("annan", password="x-secret-123")
    client.force_login(other)
    assert client.get(f"/ansokan/{application.pk}/").status_code == 404


def test_officer_sees_the_application_on_the_list(applicant_client, client, demo_users):
    applicant_client.post("/ansokan/ny/", form_data())
    client.force_login(demo_users["handlaggare"])
    page = client.get("/handlaggare/ansokningar/").content.decode()
    number = Application.objects.get().case_number
    assert number in page and "SUNDSVALL ABBOTEN 1" in page


def test_applicant_may_not_open_the_officer_page(applicant_client):
    assert applicant_client.get("/handlaggare/ansokningar/").status_code == 403


def test_submit_works_when_the_source_is_down(applicant_client):
    # The OGC server is not asked at submission: the cache answers.
    from geodata.models import Source

    Source.objects.update(url="http://127.0.0.1:9/lovkarta")
    response = applicant_client.post("/ansokan/ny/", form_data())
    assert response.status_code == 302
    assert Application.objects.get().property_designation == "SUNDSVALL ABBOTEN 1"
