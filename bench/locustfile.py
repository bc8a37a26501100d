"""The load of the production stack (bench/load.py runs it): applicants and API readers.

Applicants log in once, then go through an application again and again as a person would:
home page, guidance, a new draft, the form with its map, pinning a plot (the map's two API
calls), searching a property (suggestions while typing, then the results page), saving
the draft and submitting it with a PDF, and the receipt page. API readers ask the open
geodata API for the parcel at a point, the detail report there and designation searches.

Configuration from the environment (bench/load.py sets it):
  LOVKARTA_LOAD_POINTS    a JSON file of points inside parcels:
                          [[lon, lat, easting, northing, designation, objektidentitet], ...]
  LOVKARTA_LOAD_USERS     the applicants' accounts: a prefix, e.g. "last-" for last-0001...
  LOVKARTA_LOAD_PASSWORD  their password
Request names start with what they are measured against: "page", "submit", "api", or
"login" (not a goal: a password hash costs what it should).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import re
import threading
from pathlib import Path

import urllib3
from locust import HttpUser, between, task

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # self-signed, local

POINTS: list[list] = json.loads(Path(os.environ.get(
    "LOVKARTA_LOAD_POINTS", "var/bench/load-points.json")).read_text())
PREFIX = os.environ.get("LOVKARTA_LOAD_USERS", "last-")
PASSWORD = os.environ.get("LOVKARTA_LOAD_PASSWORD", "")
_accounts = itertools.count(1)
_accounts_lock = threading.Lock()
DRAFT_PATH = re.compile(r"/ansokan/(\d+)/redigera/$")
CASE_PATH = re.compile(r"/ansokan/(\d+)/$")


def pdf_bytes() -> bytes:
    """A one-page PDF like a site plan's (made once per Locust process)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawString(72, 720, "Situationsplan 1:500 (lasttest)")
    page.rect(100, 300, 300, 200)
    page.showPage()
    page.save()
    return out.getvalue()


ATTACHMENT = pdf_bytes()


def named(name: str, headers: dict | None = None) -> dict:
    """Keyword arguments naming a request for Locust and for nginx's access log, which
    keeps the server's own time of each (bench/load.py reads it)."""
    return {"name": name, "headers": {**(headers or {}), "X-Load-Name": name}}


class Applicant(HttpUser):
    """A person applying for a building permit, from the home page to the receipt."""

    weight = 3
    wait_time = between(1, 3)  # reading, typing, thinking

    def on_start(self) -> None:
        self.client.verify = False
        with _accounts_lock:
            self.username = f"{PREFIX}{next(_accounts):04d}"
        self.client.get("/konto/logga-in/", **named("page: log-in"))
        self.post("/konto/logga-in/", {"username": self.username, "password": PASSWORD},
                  name="login (password hash)", expect=302)

    def post(self, path: str, data: dict, name: str, expect: int,
             files: dict | None = None) -> str:
        """POST a form as the browser does (CSRF token, Referer); return the Location."""
        token = self.client.cookies.get("csrftoken", "")
        with self.client.post(path, data={"csrfmiddlewaretoken": token, **data}, files=files,
                              **named(name, {"Referer": f"{self.host}{path}"}),
                              allow_redirects=False, catch_response=True) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code}, expected {expect}")
                return ""
            return response.headers.get("Location", "")

    @task
    def apply(self) -> None:
        lon, lat, _e, _n, designation, objektidentitet = random.choice(POINTS)
        self.client.get("/", **named("page: home"))
        self.client.get("/ansokan/?answer=bygga-nytt", **named("page: guidance"))
        location = self.post("/ansokan/ny/", {"answer": "bygga-nytt"}, name="page: new draft",
                             expect=302)
        found = DRAFT_PATH.search(location)
        if not found:
            return
        edit = f"/ansokan/{found.group(1)}/redigera/"
        self.client.get(edit, **named("page: application form"))
        # Pinning: the map asks for the parcel and the detail report at the click.
        where = {"x": f"{lon:.8f}", "y": f"{lat:.8f}", "srid": "4326"}
        self.client.get("/api/v1/parcels/at", params=where, **named("api: parcel at (pin)"))
        self.client.get("/api/v1/detail-report", params=where, **named("api: detail report (pin)"))
        # Searching: suggestions while typing, then the form's search button.
        words = designation.split()
        typed = " ".join(words[1:]) if len(words) > 2 else designation
        self.client.get("/api/v1/parcels/search", params={"limit": "6", "q": typed[:-1]},
                        **named("api: parcel search (suggestions)"))
        fields = {"case_type": "BL", "measure": "nybyggnad",
                  "description": "Nytt enbostadshus i ett plan, 120 m².",
                  "building_area_m2": "120", "height_m": "6.5", "floors": "1",
                  "contact_name": "Lars Lasttest", "contact_email": "last@example.invalid",
                  "lat": f"{lat:.8f}", "lon": f"{lon:.8f}", "parcel": objektidentitet,
                  "chosen": objektidentitet}
        with self.client.post(edit, data={
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
                **fields, "designation": typed, "action": "search"},
                **named("page: search results", {"Referer": f"{self.host}{edit}"}),
                allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200 or "search-results" not in response.text:
                response.failure(f"{response.status_code}: no search results")
        if not self.post(edit, {**fields, "action": "save"}, name="page: save draft",
                         expect=302):
            return
        self.client.get(edit, **named("page: application form"))
        location = self.post(edit, {**fields, "action": "submit",
                                    "attachment_kind": "situationsplan"},
                             files={"attachment_file": ("situationsplan.pdf", ATTACHMENT,
                                                        "application/pdf")},
                             name="submit (with PDF)", expect=302)
        case = CASE_PATH.search(location)
        if case:
            self.client.get(case.group(0), **named("page: receipt"))


class ApiReader(HttpUser):
    """A program reading the open geodata API: parcels at points, reports, searches."""

    weight = 1
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.verify = False

    @task(3)
    def parcel_at(self) -> None:
        _lon, _lat, e, n, _d, _o = random.choice(POINTS)
        self.client.get("/api/v1/parcels/at", params={"x": f"{e:.2f}", "y": f"{n:.2f}"},
                        **named("api: parcel at"))

    @task(2)
    def detail_report(self) -> None:
        _lon, _lat, e, n, _d, _o = random.choice(POINTS)
        self.client.get("/api/v1/detail-report", params={"x": f"{e:.2f}", "y": f"{n:.2f}"},
                        **named("api: detail report"))

    @task(1)
    def search(self) -> None:
        designation = random.choice(POINTS)[4]
        self.client.get("/api/v1/parcels/search", params={"q": designation, "limit": "10"},
                        **named("api: parcel search"))
