"""Boverket's plan-regulation catalogue, from the local stand-in, joined to regulations."""

from __future__ import annotations

import pytest

from geodata.models import CatalogueEntry, Parcel, Source, SyncRun
from geodata.selectors import detail_report
from geodata.sync import source_sync

pytestmark = pytest.mark.django_db


def test_catalogue_is_synced_paged_and_versioned(ogc_server):
    source = Source.objects.create(
        name="katalog", protocol="boverket-catalogue",
        url=ogc_server.replace("/lovkarta", "/planbestammelsekatalogen/v1"), layer="",
        holds="catalogue", preset="boverket", page_size=3)  # 8 records: three pages
    run = source_sync(source)
    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.source_version == "20251201"
    assert run.added == CatalogueEntry.objects.filter(source=source).count() == 8
    prick = CatalogueEntry.objects.get(source=source, bestammelsekod="DP_KM_EG_UTF_MARK1")
    assert prick.bestammelseformulering == "Marken får inte förses med byggnad"
    again = source_sync(source)
    assert (again.added, again.changed, again.removed) == (0, 0, 0)


def test_unknown_release_is_a_clear_error(ogc_server):
    from geodata.errors import SourceResponseError

    source = Source.objects.create(
        name="katalog-gammal", protocol="boverket-catalogue",
        url=ogc_server.replace("/lovkarta", "/planbestammelsekatalogen/v1"), layer="19990101",
        holds="catalogue", preset="boverket")
    with pytest.raises(SourceResponseError, match="HTTP 404"):
        source_sync(source)


def test_detail_report_carries_the_catalogue_record(demo_data):
    parcel = Parcel.objects.get(beteckning="SUNDSVALL ABBOTEN 1")
    report = detail_report(parcel.geom.point_on_surface)
    by_code = {h.regulation.bestammelsekod: h for h in report.regulations}
    assert by_code["DP_KM_EG_BEG_BYA2"].catalogue.uttrycktvarde == "Max"
    assert by_code["DP_KM_B2"].catalogue.release == "20251201"
    legacy = Parcel.objects.filter(beteckning="SUNDSVALL TOMMING 2:6").first()
    old = detail_report(legacy.geom.point_on_surface)
    assert all(h.catalogue is None for h in old.regulations)  # legacy codes are not in it
