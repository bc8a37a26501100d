"""The applicant sees the fee before sending: the table in force today of the property's
municipality, for the case type and size band; the case is then charged the same."""

from __future__ import annotations

import re

import pytest

from permits.services.applications import application_submit
from tests.permits.conftest import fields, pdf_upload

pytestmark = pytest.mark.django_db


def estimate(page: str) -> str:
    found = re.search(r'<p id="fee-estimate">(.*?)</p>', page, re.S)
    assert found, "no fee estimate on the form"
    return found.group(1)


def test_the_form_estimates_the_fee_by_the_table_in_force(applicant, draft, demo_users):
    before = estimate(applicant.get(f"/ansokan/{draft.pk}/redigera/").content.decode())
    assert "uppskattas när ärendetypen och fastigheten är kända" in before
    # 120 m² of bygglov: the band 50-200 m² at 0.45 price base amounts of 2026 (59,200 kr).
    page = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(), follow=True)
    shown = estimate(page.content.decode())
    assert "Cirka 26640 kr enligt Plan- och bygglovstaxa Sundsvall (Sundsvall), 50–200 m²" \
        in shown
    # A bigger building falls in the next band.
    page = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(building_area_m2="250"),
                          follow=True)
    assert "Cirka 47360 kr" in estimate(page.content.decode())  # 0.80 x 59,200

    applicant.post(f"/ansokan/{draft.pk}/redigera/",
                   fields(building_area_m2="250", attachment_kind="situationsplan",
                          attachment_file=pdf_upload()))
    draft.refresh_from_db()
    application_submit(draft, demo_users["sokande"])
    draft.refresh_from_db()
    assert draft.fee_sek == 47_360  # what the form said is what the case is charged
