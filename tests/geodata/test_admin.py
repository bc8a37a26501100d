"""GIS staff register and inspect sources in the admin (the demo user ``gis``)."""

from __future__ import annotations

import pytest

from geodata.models import Municipality, Source
from geodata.sync import source_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def gis_client(client, demo_users):
    client.force_login(demo_users["gis"])
    return client


def test_gis_staff_register_a_source_in_the_admin(gis_client, ogc_server):
    response = gis_client.post("/admin/geodata/source/add/", {
        "name": "harnosand-parcels", "protocol": "wfs", "version": "2.0.0", "url": ogc_server,
        "layer": "registerenhetsomradesytor", "crs": "EPSG:3006", "holds": "parcels",
        "municipality": Municipality.objects.get(kommunkod="2281").pk,
        "preset": "lantmateriet", "page_size": "500", "enabled": "on", "auth": "none",
        "credentials_env": "", "schedule_minutes": "", "filter": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    source = Source.objects.get(name="harnosand-parcels")
    assert source_sync(source, bbox=(616100, 6919850, 616200, 6919950)).fetched > 0


def test_a_bad_source_is_refused_with_the_field_named(gis_client):
    response = gis_client.post("/admin/geodata/source/add/", {
        "name": "trasig", "protocol": "gopher", "url": "not a url", "layer": "x",
        "crs": "EPSG:3006", "holds": "parcels", "preset": "lantmateriet", "page_size": "0",
        "auth": "none"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"protocol", "url"} <= set(errors)
    assert not Source.objects.filter(name="trasig").exists()


def test_the_admin_shows_what_a_background_sync_read(gis_client):
    source = Source.objects.get(name="sundsvall-bakgrundskarta-wmts")
    response = gis_client.get(f"/admin/geodata/source/{source.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "GoogleMapsCompatible" in page and "bakgrund" in page
