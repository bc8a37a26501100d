"""The planning officer's path in Debian's Chromium, from the unassigned queue to a
decision the applicant downloads; axe-core checks every officer page on the way."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect

from permits.models import Application, Decision
from permits.services.applications import (
    DraftInput,
    application_save,
    application_start,
    application_submit,
    attachment_add,
)
from permits.workflow import Status
from tests.browser.conftest import axe_check, log_in
from tests.permits.conftest import LAT, LON, pdf_bytes, pdf_upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DRAWING = {"name": "fasadritning.pdf", "mimeType": "application/pdf",
           "buffer": pdf_bytes("Fasadritning 1:100")}


@pytest.fixture
def user_page(browser, page):
    """Open a page of its own browser context (its own session) for another user."""
    contexts = []

    def open_page():
        context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                      locale="sv-SE", accept_downloads=True)
        contexts.append(context)
        other = context.new_page()
        other.errors, other.failed = [], []
        other.on("pageerror", lambda error: other.errors.append(str(error)))
        other.on("response", lambda r: other.failed.append(f"{r.status} {r.url}")
                 if r.status >= 500 else None)
        other.set_default_timeout(15_000)
        other.set_default_navigation_timeout(45_000)  # as the page fixture's
        return other

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def received(demo_users) -> Application:
    """A building permit application at SUNDSVALL ABBOTEN 1, sent but not yet handled."""
    applicant = demo_users["sokande"]
    application = application_start(applicant, "BL", "nybyggnad")
    application_save(application, applicant, DraftInput(
        case_type="BL", measure="nybyggnad", description="Ett enbostadshus i ett plan.",
        building_area_m2=120, height_m=6.5, floors=1, contact_name="Sara Sökande",
        contact_email="sara@example.invalid", lon=LON, lat=LAT))
    attachment_add(application, applicant, "situationsplan", pdf_upload())
    return application_submit(application, applicant)


def status_is(page, text: str) -> None:
    """Wait until the case page's status reads ``text`` (after a move's redirect)."""
    expect(page.locator("#case-status strong")).to_have_text(text)


def move(page, action: str) -> None:
    """Open a move's disclosure on the officer's case page (its form is then visible)."""
    page.click(f"#move-{action} > summary")
    page.locator(f"#do-{action}").wait_for()


def rows_of(page, number: str):
    return page.locator("#case-queue tbody tr", has_text=number)


def take_from_the_unassigned_queue(officer, base: str, case: Application) -> None:
    """Find the case in the unassigned queue, open it and take it; check the queues."""
    number = case.case_number
    officer.click("#nav-cases")
    officer.wait_for_url(f"{base}/handlaggare/arenden/")
    axe_check(officer, "queue: all cases")
    officer.click("#queue-unassigned")
    officer.wait_for_url("**/handlaggare/arenden/?queue=unassigned")
    assert officer.get_attribute("#queue-unassigned", "aria-current") == "page"
    row = rows_of(officer, number)
    assert "SUNDSVALL ABBOTEN 1" in row.inner_text()
    assert re.search(r"\d+ dagar kvar", row.inner_text()), row.inner_text()
    axe_check(officer, "queue: unassigned")
    row.get_by_role("link", name=number).click()
    officer.wait_for_url(f"{base}/handlaggare/arenden/{case.pk}/")
    status_is(officer, "inkommen")
    assert officer.inner_text("#case-officer") == "ej fördelat"
    axe_check(officer, "case: received")

    officer.click("#take-case")
    officer.locator("p.message[role=status]").wait_for()
    assert officer.inner_text("#case-officer") == "Henrik Handläggare"
    assert officer.locator("#take-case").count() == 0
    officer.click("#nav-cases")
    for queue, count in (("mine", 1), ("unassigned", 0), ("overdue", 0)):
        officer.click(f"#queue-{queue}")
        officer.wait_for_url(f"**/handlaggare/arenden/?queue={queue}")
        assert rows_of(officer, number).count() == count, queue
        axe_check(officer, f"queue: {queue}")
    officer.click("#queue-mine")
    rows_of(officer, number).get_by_role("link", name=number).click()
    officer.wait_for_url(f"{base}/handlaggare/arenden/{case.pk}/")


def request_the_elevation(officer) -> None:
    """Ask the applicant for the missing elevation drawing."""
    move(officer, "request_completion")
    officer.check("#move-request_completion input[name=missing][value=fasadritning]")
    officer.fill("#reason-request_completion", "Fasadritningar mot norr och söder saknas.")
    axe_check(officer, "case: request completion form open")
    officer.click("#do-request_completion")
    status_is(officer, "väntar på komplettering")
    assert "Fasadritningar mot norr och söder saknas." in officer.inner_text("main")
    axe_check(officer, "case: awaiting completion")


def send_the_elevation(applicant, base: str, case: Application) -> None:
    """As the applicant: see the request, attach the drawing, send the completion."""
    log_in(applicant, base, "sokande")
    applicant.locator("#my-applications").get_by_role("link", name=case.case_number).click()
    applicant.wait_for_url(f"{base}/ansokan/{case.pk}/")
    assert applicant.inner_text("#completion-message") == (
        "Fasadritningar mot norr och söder saknas.")
    assert "fasadritning" in applicant.inner_text("#completion-items")
    axe_check(applicant, "applicant: completion requested")
    applicant.select_option("#id_kind", "fasadritning")
    applicant.set_input_files("#id_file", DRAWING)
    applicant.click("#completion-attach")
    applicant.locator("p.message[role=status]").wait_for()
    assert "fasadritning.pdf" in applicant.inner_text(".completion-box")
    axe_check(applicant, "applicant: drawing attached")
    applicant.fill("#id_answer", "Här är fasadritningarna.")
    applicant.click("#completion-send")
    applicant.locator("p.message[role=status]", has_text="inskickad").wait_for()
    assert applicant.locator("#completion-form").count() == 0


def complete_and_propose(officer) -> None:
    """See the completion, mark the case complete, review it and propose a permit."""
    officer.reload()
    assert "Här är fasadritningarna." in officer.inner_text("main")
    assert "fasadritning.pdf" in officer.inner_text("#case-documents")
    axe_check(officer, "case: completion received")
    move(officer, "mark_complete")
    officer.click("#do-mark_complete")
    status_is(officer, "komplett")
    axe_check(officer, "case: complete")
    move(officer, "start_review")
    officer.click("#do-start_review")
    status_is(officer, "under handläggning")
    move(officer, "propose")
    officer.select_option("#outcome", "granted")
    officer.fill("#conditions", "Byggnaden ska ha träfasad.")
    officer.fill("#delegation-point", "B 3.1")
    officer.click("#do-propose")  # without the reasons: refused, nothing typed is lost
    officer.locator("p.message.error[role=alert]",
                    has_text="Ange motiveringen till beslutet.").wait_for()
    status_is(officer, "under handläggning")
    assert officer.get_attribute("#move-propose", "open") is not None
    assert officer.input_value("#outcome") == "granted"
    assert officer.input_value("#conditions") == "Byggnaden ska ha träfasad."
    assert officer.input_value("#delegation-point") == "B 3.1"
    axe_check(officer, "case: proposal refused")
    officer.fill("#reason-propose", "Åtgärden följer detaljplanen.")
    axe_check(officer, "case: propose form filled in")
    officer.click("#do-propose")
    status_is(officer, "beslut föreslaget")
    assert officer.locator("#move-propose").count() == 0
    axe_check(officer, "case: decision proposed")


def approve(boss, base: str, case: Application) -> None:
    """As the decision-maker: open the proposed case from the queue and approve it."""
    log_in(boss, base, "beslutsfattare")
    boss.click("#nav-cases")
    axe_check(boss, "decision-maker's queue")
    rows_of(boss, case.case_number).get_by_role("link", name=case.case_number).click()
    boss.wait_for_url(f"{base}/handlaggare/arenden/{case.pk}/")
    assert "Åtgärden följer detaljplanen." in boss.inner_text("main")
    axe_check(boss, "decision-maker: case proposed")
    move(boss, "approve")
    axe_check(boss, "decision-maker: approve form open")
    boss.click("#do-approve")
    status_is(boss, "beslutad")
    axe_check(boss, "decision-maker: case decided")


def test_officer_path_from_queue_to_decision(page, user_page, live_server, received):
    base, officer, applicant, boss = live_server.url, page, user_page(), user_page()
    log_in(officer, base, "handlaggare")
    take_from_the_unassigned_queue(officer, base, received)
    request_the_elevation(officer)
    send_the_elevation(applicant, base, received)
    complete_and_propose(officer)
    approve(boss, base, received)

    received.refresh_from_db()
    assert received.status == Status.DECIDED and received.outcome == "granted"
    assert received.fee_sek
    assert f"{received.fee_sek} kr" in boss.inner_text("#case-fee")
    # The applicant downloads the decision, which states the fee.
    applicant.reload()
    assert applicant.inner_text("#application-fee").startswith(f"{received.fee_sek} kr")
    with applicant.expect_download() as download:
        applicant.click("#decision-pdf")
    content = download.value.path().read_bytes()
    assert content.startswith(b"%PDF")
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert f"{received.fee_sek:,}".replace(",", " ") in text
    assert received.case_number in text and "SUNDSVALL ABBOTEN 1" in text
    assert "träfasad" in text

    decision = Decision.objects.get(application=received)
    assert decision.state == Decision.State.APPROVED and decision.outcome == "granted"
    assert decision.decided_by.username == "beslutsfattare"
    assert received.completion_requests.get().answered_at is not None
    assert received.attachments.filter(kind="fasadritning").count() == 1
    for p in (officer, applicant, boss):
        assert not p.failed, p.failed
        assert not p.errors, p.errors
