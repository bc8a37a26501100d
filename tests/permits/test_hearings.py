"""Hearings and referrals: a letter per neighbour (and per body) with the case, the
property, what deviates from the plan and the reply date; the case moves to the hearing;
replies recorded; reminders before and after the reply day; the neighbour list as CSV;
scoping (another municipality's officer gets a 404); each step in the audit trail."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pypdf
import pytest
import shapely
from django.core.management import call_command
from django.test import Client

from geodata.crs import to_srid
from geodata.models import Parcel
from geodata.selectors import neighbours
from permits.documents.decision import served_on
from permits.documents.hearing_letter import deviations
from permits.exceptions import IllegalTransition, InvalidCasework, NotAllowed
from permits.models import ApplicationEvent, CaseCheck, HearingParty, ReferralBody
from permits.owners import Owner
from permits.services import clock as service_clock
from permits.services.applications import (
    DraftInput,
    application_save,
    application_start,
    application_submit,
    attachment_add,
)
from permits.services.casework import Move, case_transition
from permits.services.checks import case_check_run
from permits.services.hearings import (
    hearing_start,
    reminder_send,
    reminders_due,
    reply_record,
)
from permits.workflow import Status
from tests.permits.conftest import pdf_upload

pytestmark = pytest.mark.django_db
PROPERTY = "SUNDSVALL IDUN 6"


def footprint(parcel: Parcel) -> shapely.Geometry:
    """8 x 6 m at the street side of the property, half of it on the no-building strip."""
    minx, _miny, _maxx, maxy = parcel.geom.extent
    return shapely.box(minx + 8, maxy - 9, minx + 16, maxy - 3)


def reviewed_case(users: dict, designation: str = PROPERTY):
    """A case about a property, under review, with a footprint that deviates."""
    applicant = users["sokande"]
    parcel = Parcel.objects.get(beteckning=designation)
    drawn = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"kind": "byggnad"},
        "geometry": shapely.geometry.mapping(to_srid(footprint(parcel), 3006, 4326))}]}
    application = application_start(applicant, "BL", "nybyggnad")
    application_save(application, applicant, DraftInput(
        case_type="BL", measure="nybyggnad", description="Ett enbostadshus i två plan.",
        building_area_m2=48.0, height_m=6.0, contact_name="Sara Sökande",
        contact_email="sara@example.invalid",
        parcel_objektidentitet=str(parcel.objektidentitet), drawn=drawn))
    attachment_add(application, applicant, "situationsplan", pdf_upload())
    application_submit(application, applicant)
    application.refresh_from_db()
    # On receipt the checks run after the commit (which a test's transaction never makes);
    # the officer runs them here.
    case_check_run(application=application, reason=CaseCheck.Reason.ASKED,
                   actor=users["handlaggare"])
    for action in ("mark_complete", "start_review"):
        case_transition(actor=users["handlaggare"], application=application, action=action)
    return application


@pytest.fixture
def case(demo_users):
    return reviewed_case(demo_users)


def body(name: str, kommunkod: str = "2281") -> ReferralBody:
    return ReferralBody.objects.get(municipality__kommunkod=kommunkod, name=name)


def pdf_text(party: HearingParty) -> str:
    with party.letter.open("rb") as f:
        reader = pypdf.PdfReader(io.BytesIO(f.read()))
    return " ".join(page.extract_text() for page in reader.pages)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_hearing_sends_one_letter_per_neighbour(case, demo_users, mailoutbox,
                                                  django_capture_on_commit_callbacks):
    officer = demo_users["handlaggare"]
    expected = neighbours(case.parcel).properties
    assert len(expected) == 8  # five touching (two at a corner), three across the street
    with django_capture_on_commit_callbacks(execute=True):
        parties = hearing_start(actor=officer, application=case,
                                bodies=[body("Trafikverket")])
    case.refresh_from_db()
    assert case.status == Status.HEARING
    heard = [p for p in parties if p.kind == HearingParty.Kind.NEIGHBOUR]
    assert sorted(p.designation for p in heard) == sorted(e.designation for e in expected)
    reply_by = service_clock.today() + timedelta(days=14)
    found = deviations(case)
    assert any("Marken får inte förses med byggnad" in line for line in found)
    for party in parties:
        assert party.reply_by == reply_by and party.letter_sha256
        text = squeeze(pdf_text(party))
        assert squeeze(case.case_number) in text and squeeze(PROPERTY) in text
        assert f"{reply_by:%Y-%m-%d}" in text
        assert all(squeeze(line) in text for line in found)
        if party.kind == HearingParty.Kind.NEIGHBOUR:
            assert squeeze(party.designation) in text
            assert party.name == f"Till ägaren av {party.designation}"
    across = next(p for p in heard if p.relation == "across_road")
    assert across.lines and across.lines[0].endswith("Sundsvall")
    # The referral went by e-mail with its letter.
    sent = [m for m in mailoutbox if m.to == ["trafikverket@example.invalid"]]
    assert len(sent) == 1 and sent[0].attachments[0][2] == "application/pdf"
    events = ApplicationEvent.objects.filter(application=case)
    assert events.filter(kind="start_hearing").count() == 1
    assert events.filter(kind="hearing_letter").count() == len(parties) == 9


def test_more_parties_later_and_never_two_letters(case, demo_users):
    officer = demo_users["handlaggare"]
    first = hearing_start(actor=officer, application=case)
    with pytest.raises(InvalidCasework):
        hearing_start(actor=officer, application=case)
    more = hearing_start(actor=officer, application=case, extra_m=60.0,
                         bodies=[body("Miljökontoret")])
    assert {p.relation for p in more if p.kind == "neighbour"} == {"nearby"}
    assert not {p.designation for p in more} & {p.designation for p in first}
    assert ApplicationEvent.objects.filter(application=case, kind="start_hearing").count() == 1
    with pytest.raises(InvalidCasework):
        hearing_start(actor=officer, application=case, extra_m=501)
    with pytest.raises(InvalidCasework):  # a body of another municipality
        hearing_start(actor=officer, application=case, include_neighbours=False,
                      bodies=[body("Trafikverket", "2280")])


def test_only_an_officer_of_the_municipality_and_only_under_review(demo_users):
    case = reviewed_case(demo_users)
    with pytest.raises(NotAllowed):
        hearing_start(actor=demo_users["handlaggare-harnosand"], application=case)
    case_transition(actor=demo_users["handlaggare"], application=case, action="propose",
                    move=Move(outcome="granted", reason="Inom planen."))
    with pytest.raises(IllegalTransition):
        hearing_start(actor=demo_users["handlaggare"], application=case)


def test_replies_are_recorded_and_objectors_are_served(case, demo_users):
    officer = demo_users["handlaggare"]
    parties = hearing_start(actor=officer, application=case, bodies=[body("Miljökontoret")])
    neighbour = next(p for p in parties if p.kind == "neighbour")
    referral = next(p for p in parties if p.kind == "referral")
    with pytest.raises(InvalidCasework):  # an objection says what it is
        reply_record(actor=officer, party=neighbour, reply="objection", text=" ")
    with pytest.raises(InvalidCasework):
        reply_record(actor=officer, party=neighbour, reply="objection", text="Skuggar.",
                     received_on=service_clock.today() + timedelta(days=1))
    with pytest.raises(NotAllowed):
        reply_record(actor=demo_users["handlaggare-harnosand"], party=neighbour,
                     reply="no_objection")
    reply_record(actor=officer, party=neighbour, reply="objection",
                 text="Huset skuggar vår trädgård.")
    reply_record(actor=officer, party=referral, reply="conditions",
                 text="Dagvatten tas om hand på tomten.")
    neighbour.refresh_from_db()
    assert (neighbour.reply, neighbour.received_on) == ("objection", service_clock.today())
    assert neighbour.recorded_by == officer
    assert served_on(case) == ["Sara Sökande", neighbour.name]
    replies = ApplicationEvent.objects.filter(application=case, kind="hearing_reply")
    assert [e.data["reply"] for e in replies.order_by("id")] == ["objection", "conditions"]


def test_reminders_before_and_after_the_reply_day(case, demo_users, mailoutbox):
    officer = demo_users["handlaggare"]
    parties = hearing_start(actor=officer, application=case,
                            bodies=[body("Miljökontoret"), body("Trafikverket")])
    referrals = [p for p in parties if p.kind == "referral"]
    reply_by = referrals[0].reply_by
    # Neighbours are written to by post: no e-mail, no reminders.
    assert reminders_due(reply_by - timedelta(days=4)) == []
    due = reminders_due(reply_by - timedelta(days=3))
    assert {(r.party.pk, r.when) for r in due} == {(p.pk, "before") for p in referrals}
    reply_record(actor=officer, party=referrals[0], reply="no_objection")
    call_command("lovkarta_reminders", date=f"{reply_by - timedelta(days=2):%Y-%m-%d}",
                 stdout=io.StringIO())
    assert [m.to for m in mailoutbox if "Påminnelse" in m.subject or "Reminder" in m.subject
            ] == [["trafikverket@example.invalid"]]
    assert reminders_due(reply_by - timedelta(days=1)) == []  # sent once
    assert reminders_due(reply_by) == []
    late = reminders_due(reply_by + timedelta(days=1))
    assert [(r.party.pk, r.when) for r in late] == [(referrals[1].pk, "after")]
    assert reminder_send(reminder=late[0], today=reply_by + timedelta(days=1))
    assert not reminder_send(reminder=late[0], today=reply_by + timedelta(days=2))
    referrals[1].refresh_from_db()
    assert referrals[1].reminded_before_on == reply_by - timedelta(days=2)
    assert referrals[1].reminded_after_on == reply_by + timedelta(days=1)
    events = ApplicationEvent.objects.filter(application=case, kind="hearing_reminder")
    assert [e.data["when"] for e in events.order_by("id")] == ["before", "after"]


class FakeOwners:
    """An owner register as an adapter with a legal basis would give it."""

    def owners_of(self, designation: str) -> list[Owner]:
        return [Owner("Olle Ägare", ("Storgatan 1", "852 30 Sundsvall"))]


def test_owners_come_from_the_register_when_one_is_configured(case, demo_users, settings):
    settings.LOVKARTA_OWNER_REGISTER = "tests.permits.test_hearings.FakeOwners"
    parties = hearing_start(actor=demo_users["handlaggare"], application=case)
    assert {p.name for p in parties} == {"Olle Ägare"}
    assert parties[0].lines == ["Storgatan 1", "852 30 Sundsvall"]
    assert "OlleÄgare" in squeeze(pdf_text(parties[0]))


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_officer_pages(case, demo_users):
    officer = logged_in(demo_users["handlaggare"])
    url = f"/handlaggare/arenden/{case.pk}/"
    page = officer.get(url).content.decode()
    assert "Grannar och remisser" in page and 'id="move-hearing"' in page
    assert "Trafikverket" in page  # the register's bodies to choose from
    # Before the hearing the CSV lists the neighbours that would be heard.
    preview = list(csv.reader(io.StringIO(officer.get(f"{url}grannar.csv").content.decode())))
    assert len(preview) == 1 + 8
    response = officer.post(f"{url}grannar/", {
        "neighbours": "on", "extra_m": "0", "bodies": [str(body("Trafikverket").pk)]})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.HEARING
    parties = list(case.hearing_parties.all())
    page = officer.get(url).content.decode()
    assert all(p.designation in page for p in parties if p.kind == "neighbour")
    party = parties[0]
    response = officer.post(f"{url}grannar/{party.pk}/svar/", {
        "reply": "objection", "text": "Vi motsätter oss.", "received_on": ""})
    assert response.status_code == 302
    party.refresh_from_db()
    assert party.reply == "objection" and party.reply_text == "Vi motsätter oss."
    letter = officer.get(f"{url}grannar/{party.pk}/brev.pdf")
    assert letter.status_code == 200 and letter["Content-Type"] == "application/pdf"
    assert b"".join(letter.streaming_content).startswith(b"%PDF")
    read = ApplicationEvent.objects.filter(application=case, kind="read").latest("id")
    assert party.designation in read.text and read.actor == demo_users["handlaggare"]
    rows = list(csv.DictReader(io.StringIO(officer.get(f"{url}grannar.csv").content.decode())))
    assert {r["designation"] for r in rows} == {p.designation for p in parties
                                                if p.kind == "neighbour"}
    assert all(r["addresses"] for r in rows) and {r["reply"] for r in rows} >= {"objection"}
    assert ApplicationEvent.objects.filter(application=case, kind="export").count() == 2
    bad = officer.post(f"{url}grannar/", {"neighbours": "on", "extra_m": "9999"})
    assert bad.status_code == 302  # back to the case with the error as a message


def test_another_municipality_gets_404(case, demo_users):
    parties = hearing_start(actor=demo_users["handlaggare"], application=case)
    other = logged_in(demo_users["handlaggare-harnosand"])
    url = f"/handlaggare/arenden/{case.pk}/"
    assert other.get(f"{url}grannar.csv").status_code == 404
    assert other.get(f"{url}grannar/{parties[0].pk}/brev.pdf").status_code == 404
    assert other.post(f"{url}grannar/", {"neighbours": "on"}).status_code == 404
    assert other.post(f"{url}grannar/{parties[0].pk}/svar/",
                      {"reply": "no_objection"}).status_code == 404
    applicant = logged_in(demo_users["sokande"])
    assert applicant.get(f"{url}grannar.csv").status_code == 404


def test_the_municipal_admin_keeps_the_register_of_bodies(demo_users):
    admin = logged_in(demo_users["kommunadmin"])
    listing = admin.get("/admin/permits/referralbody/").content.decode()
    assert "Sundsvall Energi" in listing and "Härnösand Energi" not in listing
    response = admin.post("/admin/permits/referralbody/add/", {
        "municipality": str(body("Trafikverket").municipality_id), "name": "Räddningstjänsten",
        "address": "851 85 Sundsvall", "email": "rtj@example.invalid", "active": "on"})
    assert response.status_code == 302
    assert ReferralBody.objects.filter(name="Räddningstjänsten",
                                       municipality__kommunkod="2281").exists()
