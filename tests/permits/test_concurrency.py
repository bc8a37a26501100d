"""Concurrent saves and submits of one draft, with a sync beside them, over real HTTP.

A threaded live server, and one browser session per thread (each its own log-in as the
applicant): savers post *Spara utkast* again and again with descriptions of their own,
two submitters post *Skicka* a moment later, and a geodata source is synced meanwhile.
On SpatiaLite and on PostGIS alike:

- no answer is a server error, and nothing logs "database is locked";
- the application is sent, once: one case number, one ``submitted`` event;
- every save is answered either as saved (back to the form) or as too late (to the sent
  application), and no save is recorded after the submission;
- no save is lost. The rule, from the answers alone: the final description is the one
  some request wrote (a save answered as saved, or a submit, which saves first), and no
  save answered as saved was *sent* after the writer of the final description had been
  answered (such a save came later, was acknowledged, and would have been overwritten or
  dropped). The ``saved`` events of the round number at least the saves answered as
  saved (none was acknowledged without being written), and at most those plus the
  submits.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils.crypto import get_random_string

from geodata.models import Parcel, Source, SyncRun
from geodata.sync import source_sync
from permits.models import Application, ApplicationEvent
from permits.workflow import Status
from tests.permits.conftest import fields, pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)

SAVERS = 6  # threads that save again and again
SAVES_EACH = 4
SUBMITTERS = 2  # threads that submit once, a moment after the saves begin
ROUNDS = 2
SMALL_SOURCE = "sundsvall-aldre-planer"  # the legacy plans: a handful of features


@dataclass
class Answer:
    """A request as the thread that made it saw it."""

    action: str
    description: str
    sent: float
    answered: float
    status: int
    location: str
    body: str

    def to(self, path: str) -> bool:
        return self.status == 302 and self.location.endswith(path)


def browser(user: object) -> requests.Session:
    """A session of its own, logged in as ``user``, with a CSRF token."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME,
                        client.cookies[settings.SESSION_COOKIE_NAME].value)
    token = get_random_string(32)
    session.cookies.set(settings.CSRF_COOKIE_NAME, token)
    session.headers["X-CSRFToken"] = token
    return session


def post(session: requests.Session, url: str, action: str, description: str) -> Answer:
    sent = time.monotonic()
    response = session.post(url, data=fields(action=action, description=description),
                            allow_redirects=False, timeout=120)
    return Answer(action, description, sent, time.monotonic(), response.status_code,
                  response.headers.get("Location", ""),
                  "" if response.status_code == 302 else response.text[:2000])


def new_draft(base: str, session: requests.Session) -> int:
    """Start a draft at ABBOTEN 1 with its site plan attached: ready to submit."""
    response = session.post(f"{base}/ansokan/ny/", data={"answer": "bygga-nytt"},
                            allow_redirects=False, timeout=60)
    assert response.status_code == 302, response.text[:500]
    pk = int(response.headers["Location"].strip("/").split("/")[1])
    response = session.post(
        f"{base}/ansokan/{pk}/redigera/",
        data=fields(attachment_kind="situationsplan", action="upload"),
        files={"attachment_file": ("situationsplan.pdf", pdf_bytes(), "application/pdf")},
        allow_redirects=False, timeout=60)
    assert response.status_code == 302, response.text[:500]
    return pk


def race(base: str, pk: int, sessions: list[requests.Session],
         source: Source) -> tuple[list[Answer], list[BaseException]]:
    """Fire the savers, the submitters and a sync at one draft; return every answer."""
    url = f"{base}/ansokan/{pk}/redigera/"
    answers: list[Answer] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(SAVERS + SUBMITTERS + 1)

    def run(work: object) -> None:
        try:
            start.wait(timeout=60)
            work()  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            with lock:
                errors.append(exc)
        finally:
            connection.close()  # this thread's own connection, if it made one

    def saver(n: int) -> None:
        for i in range(SAVES_EACH):
            answer = post(sessions[n], url, "save", f"Sparat av {n}, gång {i}")
            with lock:
                answers.append(answer)
            if not answer.to("/redigera/"):
                return

    def submitter(k: int) -> None:
        time.sleep(0.2 + 0.3 * k)  # while the savers are at it
        answer = post(sessions[SAVERS + k], url, "submit", f"Skickat av {k}")
        with lock:
            answers.append(answer)

    def sync() -> None:
        run_ = source_sync(source)
        assert run_.outcome == SyncRun.Outcome.SUCCEEDED, run_.error

    threads = [threading.Thread(target=run, args=(lambda n=n: saver(n),))
               for n in range(SAVERS)]
    threads += [threading.Thread(target=run, args=(lambda k=k: submitter(k),))
                for k in range(SUBMITTERS)]
    threads.append(threading.Thread(target=run, args=(sync,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return answers, errors


def test_concurrent_saves_and_submits_make_one_case_and_lose_nothing(
        live_server, demo_users, caplog):
    caplog.set_level(logging.WARNING)
    base = live_server.url
    applicant = demo_users["sokande"]
    sessions = [browser(applicant) for _ in range(SAVERS + SUBMITTERS)]
    try:
        numbers = {one_round(base, sessions, Source.objects.get(name=SMALL_SOURCE))
                   for _round in range(ROUNDS)}
    finally:
        # Their kept-alive connections hold server threads, and those their database
        # connections (PostGIS keeps them for CONN_MAX_AGE), which the teardown must drop.
        for session in sessions:
            session.close()
    assert len(numbers) == ROUNDS
    assert "database is locked" not in caplog.text
    assert not [r for r in caplog.records if r.name == "django.request"
                and r.levelno >= logging.ERROR], caplog.text[-3000:]


def one_round(base: str, sessions: list[requests.Session], source: Source) -> str:
    """Race at a new draft; check the outcome; return its case number."""
    pk = new_draft(base, sessions[0])
    saved_before = ApplicationEvent.objects.filter(application_id=pk, kind="saved").count()
    answers, errors = race(base, pk, sessions, source)
    assert not errors, errors

    failed = [a for a in answers if a.status >= 500]
    assert not failed, [(a.action, a.status, a.body[:300]) for a in failed]
    detail = f"/ansokan/{pk}/"
    saves = [a for a in answers if a.action == "save"]
    submits = [a for a in answers if a.action == "submit"]
    odd = [a for a in saves if not (a.to("/redigera/") or a.to(detail))]
    odd += [a for a in submits if not a.to(detail)]
    assert not odd, [(a.action, a.status, a.location, a.body[:300]) for a in odd]

    application = Application.objects.get(pk=pk)
    assert application.status == Status.SUBMITTED
    assert application.case_number
    assert Application.objects.filter(case_number=application.case_number).count() == 1
    events = ApplicationEvent.objects.filter(application=application)
    [submitted] = events.filter(kind="submitted")
    assert submitted.text == application.case_number
    assert not events.filter(kind="saved", pk__gt=submitted.pk).exists()

    acknowledged = [a for a in saves if a.to("/redigera/")]
    writers = [a for a in acknowledged + submits
               if a.description == application.description]
    assert writers, (application.description, [a.description for a in answers])
    [writer] = writers
    later = [a for a in acknowledged if a.sent > writer.answered]
    assert not later, (f"lost: {[a.description for a in later]} were saved after "
                       f"{writer.description!r}, which is what was kept")
    saved = ApplicationEvent.objects.filter(application=application,
                                            kind="saved").count() - saved_before
    assert len(acknowledged) <= saved <= len(acknowledged) + len(submits)
    return application.case_number


class HeldPages(ThreadingHTTPServer):
    """A slow OGC server: the real MapServer behind a proxy that answers the first page of
    features at once and holds every later one until released (or for ``hold`` seconds).

    A sync through it is certain to be in the middle of its paging while the test works.
    """

    daemon_threads = True

    def __init__(self, upstream: str, hold: float = 40.0) -> None:
        super().__init__(("127.0.0.1", 0), _HeldPage)
        self.upstream, self.hold = upstream.rsplit("/lovkarta", 1)[0], hold
        self.released = threading.Event()
        self.pages = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _HeldPage(BaseHTTPRequestHandler):
    server: HeldPages

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        query = self.path.upper()
        if "GETFEATURE" in query and "RESULTTYPE=HITS" not in query:
            with self.server.lock:
                self.server.pages += 1
                first = self.server.pages == 1
            if not first:
                self.server.released.wait(self.server.hold)
        upstream = requests.get(self.server.upstream + self.path, timeout=60)
        body = upstream.content.replace(self.server.upstream.encode(),
                                        self.server.url.encode())
        self.send_response(upstream.status_code)
        self.send_header("Content-Type", upstream.headers.get("Content-Type", "text/xml"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_slow_sync_holds_up_no_save_and_no_submit(live_server, demo_users, ogc_server,
                                                     caplog):
    """While a sync pages a slow server, a draft is saved and submitted at once: the sync
    holds no write lock while it fetches (SpatiaLite has one writer at a time), and what
    it fetched is written afterwards, in full."""
    caplog.set_level(logging.WARNING)
    slow = HeldPages(ogc_server)
    source = Source.objects.get(name="sundsvall-fastigheter")
    source.url, source.page_size = f"{slow.url}/lovkarta", 400
    source.save()
    # Some parcels gone from the cache, so that the sync has rows to write.
    gone = list(Parcel.objects.filter(source=source).exclude(
        beteckning__startswith="SUNDSVALL ABBOTEN").order_by("pk").values_list(
        "pk", flat=True)[:50])
    Parcel.objects.filter(pk__in=gone).delete()
    session = browser(demo_users["sokande"])
    paging = threading.Event()
    outcome: list[object] = []

    def sync() -> None:
        try:
            outcome.append(source_sync(source, progress=lambda done, total: paging.set()))
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            outcome.append(exc)
        finally:
            paging.set()
            connection.close()

    try:
        pk = new_draft(live_server.url, session)
        url = f"{live_server.url}/ansokan/{pk}/redigera/"
        thread = threading.Thread(target=sync)
        thread.start()
        assert paging.wait(60) and not outcome, outcome  # a page read, the rest held
        saved = post(session, url, "save", "Sparat under synken")
        submitted = post(session, url, "submit", "Skickat under synken")
        still_paging = thread.is_alive()
        slow.released.set()
        thread.join(120)
    finally:
        slow.released.set()
        session.close()
        slow.shutdown()
        slow.server_close()
    assert still_paging and slow.pages > 1
    assert saved.to("/redigera/"), (saved.status, saved.body[:500])
    assert submitted.to(f"/ansokan/{pk}/"), (submitted.status, submitted.body[:500])
    # Promptly: neither waited for the sync (its pages were held up to 40 s).
    assert saved.answered - saved.sent < 10 and submitted.answered - submitted.sent < 10
    application = Application.objects.get(pk=pk)
    assert application.status == Status.SUBMITTED and application.case_number
    assert application.description == "Skickat under synken"
    [run] = outcome
    assert isinstance(run, SyncRun) and run.outcome == SyncRun.Outcome.SUCCEEDED, run
    assert run.added == len(gone) == 50 and run.removed == 0
    assert Parcel.objects.filter(source=source).count() == run.fetched
    assert "database is locked" not in caplog.text
    assert not [r for r in caplog.records if r.name == "django.request"
                and r.levelno >= logging.ERROR], caplog.text[-3000:]
