"""The case page's map (property, plans, regulations and neighbours) is made once for as
long as what it is made of holds, not on every render: a good sync, another drawing or
another language makes it again."""

from __future__ import annotations

import re

import pytest
import shapely
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from fixtures import generate
from geodata.crs import to_srid
from geodata.models import Parcel, Source
from geodata.sync import source_sync
from permits.models import DrawnFeature
from permits.services.applications import (
    DraftInput,
    application_save,
    application_start,
    application_submit,
    attachment_add,
)
from permits.views.officer import case_map_key
from tests.permits.conftest import pdf_upload

pytestmark = pytest.mark.django_db
E0, N0 = generate.E0, generate.N0
FOOTPRINT = shapely.box(E0 + 8.0, N0 + 12.0, E0 + 18.0, N0 + 22.0)  # on ABBOTEN 1


@pytest.fixture
def case(demo_users):
    applicant = demo_users["sokande"]
    application = application_start(applicant, "BL", "nybyggnad")
    abboten = Parcel.objects.get(beteckning="SUNDSVALL ABBOTEN 1")
    application_save(application, applicant, DraftInput(
        case_type="BL", measure="nybyggnad", description="Ett enbostadshus.",
        building_area_m2=100.0, height_m=6.0, contact_email="sara@example.invalid",
        parcel_objektidentitet=str(abboten.objektidentitet), drawn={
            "type": "FeatureCollection", "features": [{
                "type": "Feature", "properties": {"kind": "byggnad"},
                "geometry": shapely.geometry.mapping(to_srid(FOOTPRINT, 3006, 4326))}]}))
    attachment_add(application, applicant, "situationsplan", pdf_upload())
    application_submit(application, applicant)
    application.refresh_from_db()
    cache.clear()
    return application


@pytest.fixture
def officer(demo_users) -> Client:
    client = Client()
    client.force_login(demo_users["handlaggare"])
    return client


def case_map(page: str, same_ids: bool = False) -> str:
    """The map section of the page; without the map's element id (made anew with each
    map) unless ``same_ids``."""
    section = re.search(r'<section aria-labelledby="case-map-heading".*?</section>', page,
                        re.S)
    assert section is not None
    return section.group(0) if same_ids else re.sub(r"map_[0-9a-f]{32}", "map_",
                                                    section.group(0))


def drawn_list(page: str) -> list[str]:
    """The sizes in the map's list of what the applicant drew."""
    listed = re.search(r'<ul id="case-map-drawn">(.*?)</ul>', page, re.S)
    assert listed is not None
    return re.findall(r"<li>[^<:]*: ([^<]*)</li>", listed.group(1))


def render(officer: Client, case) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = officer.get(f"/handlaggare/arenden/{case.pk}/")
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_map_is_made_once_and_again_after_a_sync(case, officer):
    first, made = render(officer, case)
    second, kept = render(officer, case)
    assert case_map(second, same_ids=True) == case_map(first, same_ids=True)  # the same map
    assert "SUNDSVALL ABBOTEN 1" in case_map(first)
    # The neighbours alone read the parcels around, the plans and the regulations.
    assert kept <= made - 5, (made, kept)
    run = source_sync(Source.objects.get(name="sundsvall-strandlinjer"))
    assert run.outcome == "succeeded"
    third, remade = render(officer, case)
    assert remade >= made - 1 and case_map(third) == case_map(first)


def test_another_drawing_or_language_is_another_map(case, officer):
    key = case_map_key(case)
    with translation.override("en"):
        assert case_map_key(case) != key
    before, _ = render(officer, case)
    drawn = DrawnFeature.objects.get(application=case)
    drawn.geom = drawn.geom.buffer(1.0)
    drawn.save()
    assert case_map_key(case) != key
    after, _ = render(officer, case)
    assert drawn_list(before) == ["100 m²"]
    assert drawn_list(after) == [f"{round(drawn.geom.area, 1):g} m²"] != ["100 m²"]
    officer.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english, _ = render(officer, case)
    assert "What the applicant drew" in case_map(english)
