"""The cases API over HTTP: its shape, token and session authentication, the scoping of
the officer's pages (404 for another municipality, 403 for an applicant), transitions
with their 409, paging to the end, the audit of every read, and the derived OpenAPI."""

from __future__ import annotations

import json
import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from permits.models import ApiToken, Application, ApplicationEvent
from permits.services.applications import application_submit
from permits.services.clock import as_of
from permits.services.tokens import token_create
from permits.workflow import Status
from tests.permits.conftest import fields, pdf_upload

pytestmark = pytest.mark.django_db

LIST_KEYS = {"case_number", "municipality", "case_type", "status", "received", "complete",
             "deadline", "extended_weeks", "decided", "fee_sek", "fee_reduction_fifths"}
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture
def case(applicant, draft, demo_users):
    applicant.post(f"/ansokan/{draft.pk}/redigera/",
                   fields(attachment_kind="situationsplan", attachment_file=pdf_upload()))
    draft.refresh_from_db()
    with as_of(date(2026, 3, 2)):
        application_submit(draft, demo_users["sokande"])
    draft.refresh_from_db()
    return draft


def bearer(user, name: str = "test") -> Client:
    _token, secret = token_create(user=user, name=name)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def post_json(client: Client, url: str, body: object, **extra):
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def test_the_list_has_the_shape_scripts_rely_on(case, demo_users):
    response = bearer(demo_users["handlaggare"]).get("/api/v1/cases")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"cases", "next"} and body["next"] is None
    [row] = [c for c in body["cases"] if c["case_number"] == case.case_number]
    assert set(row) == LIST_KEYS
    assert row == {
        "case_number": case.case_number, "municipality": "2281", "case_type": "BL",
        "status": "submitted", "received": "2026-03-02", "complete": None,
        "deadline": "2026-05-11", "extended_weeks": 0, "decided": None,
        "fee_sek": 26_640, "fee_reduction_fifths": None}


def test_an_applicant_gets_403_and_a_stranger_401(case, demo_users):
    applicant = bearer(demo_users["sokande"])
    response = applicant.get("/api/v1/cases")
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert applicant.get(f"/api/v1/cases/{case.pk}").status_code == 403
    session = Client()
    session.force_login(demo_users["sokande"])
    assert session.get("/api/v1/cases").status_code == 403
    anonymous = Client().get("/api/v1/cases")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    assert Client(HTTP_AUTHORIZATION="Bearer lk_not-a-token").get(
        "/api/v1/cases").status_code == 401


def test_an_officer_of_another_municipality_finds_nothing(case, demo_users):
    other = bearer(demo_users["handlaggare-harnosand"])
    assert case.case_number not in json.dumps(other.get("/api/v1/cases").json())
    for url in (f"/api/v1/cases/{case.pk}", f"/api/v1/cases/{case.case_number}"):
        response = other.get(url)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = post_json(other, f"/api/v1/cases/{case.pk}/transitions",
                         {"action": "mark_complete"})
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


def test_a_case_reads_with_its_clock_fee_and_events_and_the_read_is_audited(case,
                                                                          demo_users):
    officer = bearer(demo_users["handlaggare"], "ärendesystem")
    reads = ApplicationEvent.objects.filter(application=case, kind="read").count()
    with as_of(date(2026, 3, 10)):
        response = officer.get(f"/api/v1/cases/{case.case_number}",
                               REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == case.pk and body["deadline"] == "2026-05-11"
    assert body["days_left"] == 62 and body["overdue"] is False
    assert body["time_limit_weeks"] == 10 and body["fee_after_reduction_sek"] == 26_640
    assert body["fee_table_in_force_from"] is not None
    assert "mark_complete" in body["transitions"] and "approve" not in body["transitions"]
    assert {"created", "submitted"} <= {e["kind"] for e in body["events"]}
    assert ISO_DAY.match(body["received"])
    read = ApplicationEvent.objects.filter(application=case, kind="read").latest("id")
    assert ApplicationEvent.objects.filter(application=case, kind="read").count() == reads + 1
    assert read.actor == demo_users["handlaggare"] and read.ip == "192.0.2.7"


def test_a_transition_is_made_or_refused_with_409_and_changes_nothing(case, demo_users):
    officer = bearer(demo_users["handlaggare"])
    url = f"/api/v1/cases/{case.pk}/transitions"
    with as_of(date(2026, 3, 9)):
        response = post_json(officer, url, {"action": "mark_complete", "on": "2026-03-06"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "complete"
    assert response.json()["complete"] == "2026-03-06"

    events = ApplicationEvent.objects.filter(application=case).count()
    refused = post_json(officer, url, {"action": "notify"}, HTTP_ACCEPT_LANGUAGE="sv")
    assert refused.status_code == 409
    assert refused.json()["code"] == "illegal_transition"
    assert "kan inte flyttas" in refused.json()["description"]
    english = post_json(officer, url, {"action": "notify"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "cannot be moved" in english.json()["description"]
    not_mine = post_json(officer, url, {"action": "withdraw"})
    assert not_mine.status_code == 403 and not_mine.json()["code"] == "not_allowed"
    case.refresh_from_db()
    assert case.status == Status.COMPLETE
    assert ApplicationEvent.objects.filter(application=case).count() == events


@pytest.mark.parametrize("body", [
    {"action": "teleport"}, {}, {"action": "propose", "outcome": "maybe"},
    {"action": "mark_complete", "on": "2026-02-30"}, [1, 2], "text",
    {"action": "request_completion", "items": [["a"]]},
])
def test_bad_input_is_a_400_with_code_and_description(case, demo_users, body):
    response = post_json(bearer(demo_users["handlaggare"]),
                         f"/api/v1/cases/{case.pk}/transitions", body)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"code", "description"}
    assert response.json()["code"] == "invalid_input"
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


@pytest.mark.parametrize("query", ["status=bogus", "limit=0", "limit=100000", "after=-1",
                                   "municipality=22", "deadline_before=yesterday",
                                   "case_type=XX", "queue=theirs"])
def test_bad_filters_are_a_400(demo_users, query):
    response = bearer(demo_users["handlaggare"]).get(f"/api/v1/cases?{query}")
    assert response.status_code == 400 and response.json()["code"] == "invalid_input"


def test_paging_follows_next_to_the_end(case, applicant, demo_users):
    for _n in range(4):
        applicant.post("/ansokan/ny/", {"answer": "bygga-nytt"})
        draft = Application.objects.latest("created_at")
        applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
            attachment_kind="situationsplan", attachment_file=pdf_upload()))
        application_submit(Application.objects.get(pk=draft.pk), demo_users["sokande"])
    officer = bearer(demo_users["handlaggare"])
    url, seen, pages = "/api/v1/cases?limit=2&municipality=2281", [], 0
    while url:
        body = officer.get(url).json()
        seen += [c["case_number"] for c in body["cases"]]
        url, pages = body["next"], pages + 1
        assert pages < 10
    everything = list(Application.objects.filter(municipality=case.municipality).exclude(
        status=Status.DRAFT).values_list("case_number", flat=True))
    assert sorted(seen) == sorted(everything) and len(seen) == len(set(seen)) >= 5
    assert pages == -(-len(everything) // 2)
    mine = officer.get("/api/v1/cases?status=submitted&case_type=BL&queue=unassigned").json()
    assert {c["status"] for c in mine["cases"]} == {"submitted"}


def test_the_session_works_with_csrf_and_without_it_is_refused(case, demo_users):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(demo_users["handlaggare"])
    assert browser.get(f"/api/v1/cases/{case.pk}").status_code == 200
    refused = post_json(browser, f"/api/v1/cases/{case.pk}/transitions",
                        {"action": "mark_complete"})
    assert refused.status_code in (401, 403)
    browser.get("/handlaggare/arenden/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    done = post_json(browser, f"/api/v1/cases/{case.pk}/transitions",
                     {"action": "mark_complete"}, HTTP_X_CSRFTOKEN=token)
    assert done.status_code == 200 and done.json()["status"] == "complete"


def test_assignment_by_username(case, demo_users):
    officer = bearer(demo_users["handlaggare"])
    url = f"/api/v1/cases/{case.pk}/assignment"
    response = post_json(officer, url, {"officer": "handlaggare2"})
    assert response.status_code == 200 and response.json()["assigned_to"] == "handlaggare2"
    assert post_json(officer, url, {"officer": "handlaggare-harnosand"}).status_code == 400
    assert post_json(officer, url, {"officer": "nobody-at-all"}).status_code == 400
    assert post_json(officer, url, {"officer": None}).json()["assigned_to"] is None


def test_tokens_are_made_once_hashed_and_revoked(demo_users):
    out = StringIO()
    call_command("lovkarta_token", "create", "--user", "handlaggare", "--name", "diariet",
                 stdout=out)
    secret = out.getvalue().strip()
    token = ApiToken.objects.get(name="diariet")
    assert secret.startswith("lk_") and secret not in token.key_hash
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/cases").status_code == 200
    call_command("lovkarta_token", "revoke", "--prefix", token.prefix, stdout=StringIO())
    assert client.get("/api/v1/cases").status_code == 401
    with pytest.raises(CommandError, match="holds no role"):
        call_command("lovkarta_token", "create", "--user", "sokande", stdout=StringIO())


def test_the_openapi_document_is_derived_from_the_code(demo_users):
    response = Client().get("/api/v1/cases/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/cases", "/api/v1/cases/{ref}", "/api/v1/cases/{ref}/transitions"} <= set(
        document["paths"])
    schemas = document["components"]["schemas"]
    assert set(schemas["CaseOut"]["properties"]) == LIST_KEYS
    assert set(schemas["CaseList"]["required"]) == {"cases"} | (
        {"next"} & set(schemas["CaseList"]["required"]))
    actions = schemas["TransitionIn"]["properties"]["action"]
    assert "approve" in json.dumps(actions) and "mark_complete" in json.dumps(actions)
    assert Client().get("/api/v1/cases/docs").status_code == 200
