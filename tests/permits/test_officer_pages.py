"""The officer's pages over HTTP: queues, a case from receipt to decision with the
applicant completing it in the portal, scoping (404 for another municipality), the audit
of every staff read, and the decision as PDF/A-2b."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pikepdf
import pypdf
import pytest
from django.test import Client

from permits.models import Application, ApplicationEvent, Attachment, Decision
from permits.services.applications import application_submit
from permits.services.clock import as_of
from permits.workflow import Status
from tests.permits.conftest import fields, pdf_upload

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def case(applicant, draft, demo_users):
    applicant.post(f"/ansokan/{draft.pk}/redigera/",
                   fields(attachment_kind="situationsplan", attachment_file=pdf_upload()))
    draft.refresh_from_db()
    application_submit(draft, demo_users["sokande"])
    draft.refresh_from_db()
    return draft


def post_move(client, case, **data):
    return client.post(f"/handlaggare/arenden/{case.pk}/atgard/", data)


def test_receipt_to_decision_with_a_completion_in_the_portal(
        case, applicant, demo_users, mailoutbox, django_capture_on_commit_callbacks):
    officer = logged_in(demo_users["handlaggare"])
    unassigned = officer.get("/handlaggare/arenden/?queue=unassigned").content.decode()
    assert case.case_number in unassigned

    assert post_move(officer, case, do="assign",
                     officer=demo_users["handlaggare"].pk).status_code == 302
    assert case.case_number in officer.get("/handlaggare/arenden/?queue=mine").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_move(officer, case, action="request_completion",
                             missing="situationsplan",
                             reason="Situationsplan i skala 1:500 saknas.")
    assert response.status_code == 302
    told = [m for m in mailoutbox if case.case_number in m.subject]
    assert told and told[-1].to == [case.contact_email]

    page = applicant.get(f"/ansokan/{case.pk}/").content.decode()
    assert "Situationsplan i skala 1:500 saknas." in page and 'id="completion-form"' in page
    applicant.post(f"/ansokan/{case.pk}/komplettering/", {
        "kind": "situationsplan", "file": pdf_upload("situationsplan-ny.pdf"),
        "action": "attach"})
    applicant.post(f"/ansokan/{case.pk}/komplettering/", {
        "answer": "Här är situationsplanen.", "action": "send"})
    case.refresh_from_db()
    assert case.status == Status.INCOMPLETE
    request = case.completion_requests.get()
    assert request.answered_at is not None and request.answer == "Här är situationsplanen."
    # Everything the applicant sent is kept: the first drawing and the completion.
    assert sorted(Attachment.objects.filter(application=case).values_list(
        "original_name", flat=True)) == ["situationsplan-ny.pdf", "situationsplan.pdf"]

    for action in ("mark_complete", "start_review"):
        assert post_move(officer, case, action=action).status_code == 302
    post_move(officer, case, action="propose", outcome="granted",
              reason="Åtgärden följer detaljplanen.", delegation_point="B 3.1")
    case.refresh_from_db()
    assert case.status == Status.PROPOSED

    boss = logged_in(demo_users["beslutsfattare"])
    with django_capture_on_commit_callbacks(execute=True):
        assert post_move(boss, case, action="approve").status_code == 302
    assert case.case_number in mailoutbox[-1].subject
    case.refresh_from_db()
    assert case.status == Status.DECIDED and case.outcome == "granted"

    page = applicant.get(f"/ansokan/{case.pk}/").content.decode()
    decision = Decision.objects.get(application=case, state=Decision.State.APPROVED)
    link = f"/ansokan/{case.pk}/beslut/{decision.pk}.pdf"
    assert link in page
    content = b"".join(applicant.get(link).streaming_content)
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)
    fee = f"{case.fee_sek:,}".replace(",", " ")
    assert case.fee_sek == 26_640 and fee in text
    assert "länsstyrelsen" in text and "tre veckor" in text  # the appeal instructions
    assert case.property_designation in text


def test_the_decision_is_pdf_a_2b(case, demo_users):
    from permits.services.casework import Move, case_transition

    officer, boss = demo_users["handlaggare"], demo_users["beslutsfattare"]
    for action, move in (("mark_complete", Move()), ("start_review", Move()),
                         ("propose", Move(outcome="refused", reason="Strider mot planen: "
                                          "åtgärden placeras på prickmark."))):
        case_transition(actor=officer, application=case, action=action, move=move)
    case_transition(actor=boss, application=case, action="approve")
    decision = Decision.objects.get(application=case, state=Decision.State.APPROVED)
    with decision.document.open("rb") as handle:
        content = handle.read()
    import hashlib

    assert hashlib.sha256(content).hexdigest() == decision.document_sha256
    with pikepdf.open(io.BytesIO(content)) as pdf:
        meta = pdf.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")
        assert meta["dc:title"] == f"Beslut {case.case_number}"
        assert not pdf.is_encrypted
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == pikepdf.Name.GTS_PDFA1 and intent.DestOutputProfile.N == 3
        assert str(pdf.Root.Lang) == "sv"
        for page in pdf.pages:
            for name, font in page.Resources.Font.items():
                base = font.get("/BaseFont")
                assert "/FontDescriptor" in font, f"font {name} ({base}) is not embedded"
                assert "/FontFile2" in font.FontDescriptor, f"font {name} is not embedded"
            for image in page.get_images().values():
                assert "/SMask" not in image  # no transparency
    assert ApplicationEvent.objects.filter(application=case, kind="document").exists()


def test_another_municipality_gets_404_everywhere(case, demo_users):
    other = logged_in(demo_users["handlaggare-harnosand"])
    attachment = case.attachments.first()
    for url in (f"/handlaggare/arenden/{case.pk}/", f"/ansokan/{case.pk}/",
                f"/ansokan/{case.pk}/kvitto.pdf",
                f"/ansokan/{case.pk}/bilaga/{attachment.pk}/",
                f"/handlaggare/arenden/{case.pk}/logg.csv"):
        assert other.get(url).status_code == 404, url
    assert other.post(f"/handlaggare/arenden/{case.pk}/atgard/",
                      {"action": "mark_complete"}).status_code == 404
    assert case.case_number not in other.get("/handlaggare/arenden/").content.decode()
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


def test_an_applicant_has_no_officer_pages(case, applicant):
    assert applicant.get("/handlaggare/arenden/").status_code == 404
    assert applicant.get(f"/handlaggare/arenden/{case.pk}/").status_code == 404


def test_every_staff_read_is_audited(case, demo_users):
    officer = logged_in(demo_users["handlaggare"])
    attachment = case.attachments.first()
    reads = ApplicationEvent.objects.filter(application=case, kind="read")
    before = reads.count()
    officer.get(f"/handlaggare/arenden/{case.pk}/")
    officer.get(f"/ansokan/{case.pk}/kvitto.pdf")
    b"".join(officer.get(f"/ansokan/{case.pk}/bilaga/{attachment.pk}/").streaming_content)
    assert reads.count() == before + 3
    last = reads.order_by("-id").first()
    assert last.actor == demo_users["handlaggare"] and last.ip == "127.0.0.1"
    assert "bilaga" in last.text or "attachment" in last.text


def test_an_illegal_move_from_the_page_is_refused_with_409(case, demo_users):
    boss = logged_in(demo_users["beslutsfattare"])
    response = post_move(boss, case, action="approve")
    assert response.status_code == 409
    assert "kan inte" in response.content.decode() or "cannot" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


def test_the_audit_trail_exports_as_csv(case, demo_users):
    officer = logged_in(demo_users["handlaggare"])
    rows = list(csv.reader(io.StringIO(b"".join(officer.get(
        f"/handlaggare/arenden/{case.pk}/logg.csv").streaming_content).decode())))
    assert rows[0] == ["case_number", "at", "user", "event", "text", "from_address", "details"]
    assert any(row[3] in ("Ansökan skickad", "Application sent") for row in rows[1:])
    admin = logged_in(demo_users["kommunadmin"])
    everything = b"".join(admin.get("/handlaggare/logg.csv").streaming_content).decode()
    assert case.case_number in everything
    assert officer.get("/handlaggare/logg.csv").status_code == 404  # administrators only
    bad = admin.get("/handlaggare/logg.csv?since=2026-13-01")
    assert bad.status_code == 400


def test_the_audit_trail_is_read_only_in_the_admin(case, demo_users):
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("rot", "rot@example.invalid", "x")
    client = logged_in(root)
    event = ApplicationEvent.objects.filter(application=case).first()
    assert client.get("/admin/permits/applicationevent/").status_code == 200
    page = client.get(f"/admin/permits/applicationevent/{event.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/permits/applicationevent/{event.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/permits/applicationevent/{event.pk}/change/",
                       {"kind": "x"}).status_code == 403
    assert ApplicationEvent.objects.get(pk=event.pk).kind == event.kind


def test_a_fee_table_in_use_is_kept_and_a_new_version_made(case, demo_users):
    from permits.models import FeeTable

    admin = logged_in(demo_users["kommunadmin"])
    table = case.fee_table
    page = admin.get(f"/admin/permits/feetable/{table.pk}/change/").content.decode()
    assert 'name="_save"' not in page  # in use: shown, not changed
    with as_of(date(2026, 12, 1)):
        admin.post("/admin/permits/feetable/", {"action": "new_version",
                                                "_selected_action": [table.pk]})
    copy = FeeTable.objects.get(municipality=table.municipality, valid_from=date(2026, 12, 2))
    assert copy.rows.count() == table.rows.count()
    # Härnösand's table is not the Sundsvall administrator's.
    other = FeeTable.objects.exclude(municipality=table.municipality).first()
    assert admin.get(f"/admin/permits/feetable/{other.pk}/change/").status_code in (302, 404)


def test_queues_filter_and_show_days_left(case, demo_users):
    officer = logged_in(demo_users["handlaggare"])
    page = officer.get("/handlaggare/arenden/?queue=all&case_type=BL&sort=-received").content
    assert case.case_number.encode() in page
    assert re.search(rb"\d+ dagar kvar|\d+ days left", page)
    assert case.case_number.encode() not in officer.get(
        "/handlaggare/arenden/?queue=all&case_type=ANM").content
    assert officer.get("/handlaggare/arenden/?deadline_before=not-a-date").status_code == 200
    assert Application.objects.filter(pk=case.pk).exists()
