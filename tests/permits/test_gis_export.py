"""The GIS staff's export page: a layer in a format and CRS with a filter, made in the
background with its progress shown, the file for its maker only; cases carry applicants'
personal data only for staff of the municipality the export is limited to; every export
is recorded with who, what and which filter. Files are read back with ogrinfo."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from geodata.models import ExportRun, Parcel
from permits.models import Application
from permits.workflow import Status

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def export(client: Client, capture, **data) -> ExportRun:
    with capture(execute=True):
        response = client.post("/gis/export/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    run = ExportRun.objects.get(pk=int(re.search(r"/gis/export/(\d+)/", response["Location"])
                                     .group(1)))
    assert run.status == ExportRun.Status.DONE, run.error
    return run


def ogrinfo(path: Path) -> str:
    return subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True,
                          text=True, check=True).stdout


def download(client: Client, run: ExportRun, tmp_path: Path) -> Path:
    response = client.get(f"/gis/export/{run.pk}/fil")
    assert response.status_code == 200
    path = tmp_path / run.file.name.rsplit("/", 1)[-1]
    path.write_bytes(b"".join(response.streaming_content))
    return path


def test_parcels_in_a_local_zone_with_progress_and_a_link(
        demo_users, tmp_path, django_capture_on_commit_callbacks):
    gis = client_for(demo_users["gis"])
    assert gis.get("/gis/export/").status_code == 200
    run = export(gis, django_capture_on_commit_callbacks, layer="parcels",
                 file_format="gpkg", crs="3014", municipality="Sundsvall")
    page = gis.get(f"/gis/export/{run.pk}/").content.decode()
    expected = Parcel.objects.filter(kommunkod="2281").count()
    assert 'id="export-download"' in page and f"{expected} av {expected}" in page
    info = ogrinfo(download(gis, run, tmp_path))
    assert f"Feature Count: {expected}" in info and 'ID["EPSG",3014]]' in info
    assert run.filters == {"kommunkod": "2281"} and run.requested_by == demo_users["gis"]
    assert run.written == expected and not run.personal_data


def test_cases_carry_personal_data_only_for_staff_of_that_municipality(
        demo_cases, demo_users, tmp_path, django_capture_on_commit_callbacks):
    decided = Application.objects.filter(municipality__kommunkod="2281",
                                         status__in=[Status.DECIDED, Status.NOTIFIED])
    for user, personal in (("handlaggare", True), ("gis", False),
                           ("handlaggare-harnosand", False)):
        client = client_for(demo_users[user])
        run = export(client, django_capture_on_commit_callbacks, layer="cases",
                     file_format="gpkg", crs="3006", municipality="2281",
                     status=["decided", "notified"])
        info = ogrinfo(download(client, run, tmp_path))
        assert f"Feature Count: {decided.count()}" in info, user
        assert ("contact_email: String" in info) is personal, user
        assert run.personal_data is personal
        assert run.filters["status"] == ["decided", "notified"]


def test_an_export_is_its_makers_alone(demo_users, django_capture_on_commit_callbacks):
    gis = client_for(demo_users["gis"])
    run = export(gis, django_capture_on_commit_callbacks, layer="plans",
                 file_format="geojson", crs="4326")
    other = client_for(demo_users["handlaggare"])
    assert other.get(f"/gis/export/{run.pk}/").status_code == 404
    assert other.get(f"/gis/export/{run.pk}/fil").status_code == 404
    assert client_for(demo_users["sokande"]).get("/gis/export/").status_code == 403


def test_bad_input_is_a_form_error_and_records_nothing(demo_users):
    gis = client_for(demo_users["gis"])
    before = ExportRun.objects.count()
    for data, words in (
            ({"layer": "parcels", "file_format": "geojson", "crs": "3006"}, "WGS 84"),
            ({"layer": "parcels", "file_format": "gpkg", "crs": "3006", "bbox": "1,2,3"},
             "fyra tal"),
            ({"layer": "parcels", "file_format": "gpkg", "crs": "3006",
              "municipality": "Atlantis"}, "Atlantis"),
            ({"layer": "nope", "file_format": "gpkg", "crs": "3006"}, "nope")):
        response = gis.post("/gis/export/", data)
        assert response.status_code == 400, data
        assert words in response.content.decode(), (data, words)
    assert ExportRun.objects.count() == before


def test_the_command_line_is_recorded_too(demo_users, tmp_path):
    out = tmp_path / "ärenden.csv"
    call_command("geodata_export", "cases", "--format", "csv", "--out", str(out), "--user", "gis")
    run = ExportRun.objects.latest("created_at")
    assert run.via == "command" and run.layer == "cases" and run.requested_by.username == "gis"
    assert run.written == Application.objects.exclude(status=Status.DRAFT).count()
    assert "contact_email" not in out.read_text(encoding="utf-8-sig").splitlines()[0]


def test_a_command_export_that_fails_is_recorded_with_its_error(demo_users, tmp_path):
    before = ExportRun.objects.count()
    # Refused before anything is made (no such layer): nothing to record
    with pytest.raises(CommandError, match="nope"):
        call_command("geodata_export", "nope", "--format", "csv", "--out",
                     str(tmp_path / "x.csv"))
    assert ExportRun.objects.count() == before
    # Asked for and begun, then failed (no such folder): recorded, with its error
    with pytest.raises(CommandError):
        call_command("geodata_export", "parcels", "--format", "gpkg", "--municipality",
                     "Sundsvall", "--out", str(tmp_path / "saknas" / "x.gpkg"), "--user", "gis")
    run = ExportRun.objects.latest("created_at")
    assert (run.via, run.layer, run.status) == ("command", "parcels", ExportRun.Status.FAILED)
    assert "saknas" in run.error and run.finished_at is not None
    assert run.filters["municipality"] == "Sundsvall" and run.filters["kommunkod"] == "2281"
