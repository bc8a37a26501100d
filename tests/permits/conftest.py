"""Helpers for the applicant's path: real PDFs, and a draft at a known property."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fixtures import generate
from geodata.crs import point_to_srid

# Inside SUNDSVALL ABBOTEN 1 (12 m east, 20 m north of its south-west corner).
LON, LAT = point_to_srid(generate.E0 + 12.0, generate.N0 + 20.0, 3006, 4326)


def pdf_bytes(text: str = "Situationsplan 1:500") -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return out.getvalue()


def pdf_upload(name: str = "situationsplan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


def fields(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "case_type": "BL", "measure": "nybyggnad", "description": "Ett enbostadshus i ett plan.",
        "building_area_m2": "120", "height_m": "6.5", "floors": "1",
        "contact_name": "Sara Sökande", "contact_email": "sara@example.invalid",
        "contact_phone": "", "lat": f"{LAT:.8f}", "lon": f"{LON:.8f}", "corners": "",
        "drawn": "", "draw_kind": "byggnad", "attachment_kind": "", "designation": "",
        "action": "save"}
    data.update(overrides)
    return data


@pytest.fixture
def applicant(client, demo_users):
    client.force_login(demo_users["sokande"])
    return client


@pytest.fixture
def draft(applicant):
    response = applicant.post("/ansokan/ny/", {"answer": "bygga-nytt"})
    from permits.models import Application

    application = Application.objects.latest("created_at")
    assert response["Location"] == f"/ansokan/{application.pk}/redigera/"
    return application


@pytest.fixture
def demo_cases(demo_users, ogc_server, ogc_server_2280, capsys):
    """The demo's case history (twenty cases in each of two municipalities), as
    `make run` loads it: Härnösand registered on its own server and synced first."""
    from django.core.management import call_command

    from geodata.models import Source
    from geodata.sync import source_sync
    from permits.models import Application
    from permits.workflow import Status

    call_command("lovkarta_demo", ogc_url=ogc_server, ogc_url_2280=ogc_server_2280,
                 verbosity=0)
    for source in Source.objects.filter(enabled=True, municipality__kommunkod="2280"):
        run = source_sync(source)
        assert run.outcome == run.Outcome.SUCCEEDED, source.name
        assert run.fetched > 0 or source.holds == Source.Holds.BACKGROUND, source.name
    call_command("lovkarta_demo_cases")
    assert "20 in 2280, 20 in 2281" in capsys.readouterr().out
    return Application.objects.exclude(status=Status.DRAFT)
