"""The demo's case history: cases in every state of the workflow, in every municipality
that has officers and parcels, built by the real services "as of" the days they happened.

Each story is a timeline of moves (days after receipt) that ends in one state: some cases
wait in the unassigned queue, some for the applicant's completion, some for a
decision-maker; some were decided in time, some late (the fee reduced by the clock), some
are overdue now. Nothing is written around the services, so the audit trail, the clock's
dates, the fees and the decision documents are what casework would have made.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

import shapely
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.utils import override_settings

from geodata.crs import to_srid
from geodata.models import Municipality, Parcel
from permits.models import Application, StaffRole
from permits.services import clock as service_clock
from permits.services.applications import (
    DraftInput,
    application_save,
    application_start,
    application_submit,
    attachment_add,
    feedback_give,
)
from permits.services.casework import (
    Move,
    case_assign,
    case_extend,
    case_transition,
    completion_attach,
    completion_send,
)
from permits.workflow import Outcome, Role, Status

# Applicants of the demo besides `sokande` (who logs in and sees their own cases).
APPLICANTS = [("demo-anna", "Anna", "Lindqvist"), ("demo-erik", "Erik", "Sjöberg"),
              ("demo-maria", "Maria", "Holm"), ("demo-johan", "Johan", "Nyström"),
              ("demo-lena", "Lena", "Berglund"), ("demo-omar", "Omar", "Haddad")]
WHAT = {
    ("BL", "nybyggnad"): "Nybyggnad av enbostadshus i ett och ett halvt plan med garage.",
    ("BL", "tillbyggnad"): "Tillbyggnad av bostadshuset med ett uterum mot söder.",
    ("ANM", "eldstad"): "Installation av eldstad (braskamin) med ny rökkanal.",
    ("FÖRF", "nybyggnad"): "Förhandsbesked för ett fritidshus på den norra delen av tomten.",
    ("RL", "rivning"): "Rivning av ett uthus i dåligt skick.",
    ("MARK", "marklov"): "Uppfyllnad av mark med cirka en meter för en plan gräsyta.",
    ("BL", "mur/plank"): "Plank mot gatan, 1,8 meter högt och 12 meter långt.",
}


@dataclass(frozen=True)
class Step:
    """One move on a day counted from receipt."""

    day: int
    do: str  # a workflow action, or: assign, attach, send, extend
    outcome: str = ""
    text: str = ""


@dataclass(frozen=True)
class Story:
    """A case from receipt to the state it is in today."""

    ends: str  # what the story shows, for the summary
    received_days_ago: int
    case_type: str = "BL"
    measure: str = "nybyggnad"
    area_m2: float = 120.0
    steps: tuple[Step, ...] = ()
    own: bool = False  # the logged-in demo applicant's case


REVIEWED = (Step(1, "assign"), Step(2, "mark_complete"), Step(6, "start_review"))
COMPLETED = (Step(1, "assign"), Step(4, "request_completion", text="Fasadritning saknas."),
             Step(11, "attach"), Step(12, "send", text="Fasadritningen är bifogad."),
             Step(14, "mark_complete"), Step(16, "start_review"))


def decided(propose: int, approve: int, outcome: str = Outcome.GRANTED, *,
            completed: bool = False, served: bool = True) -> tuple[Step, ...]:
    """Reviewed, proposed and approved on the given days; served two days later."""
    reasons = {Outcome.GRANTED: "Åtgärden följer detaljplanen.",
               Outcome.REFUSED: "Åtgärden strider mot detaljplanen (prickmark) och kan inte "
                                "ses som en liten avvikelse."}
    steps = (*(COMPLETED if completed else REVIEWED),
             Step(propose, "propose", outcome, reasons.get(outcome, "")),
             Step(approve, "approve"))
    return (*steps, Step(approve + 2, "notify")) if served else steps


STORIES = [
    Story("received today", 0, own=True),
    Story("received, unassigned", 3, "ANM", "eldstad", 0),
    Story("received, unassigned and overdue", 80, "FÖRF", "nybyggnad", 90),
    Story("awaiting completion", 12, "BL", "tillbyggnad", 25, own=True, steps=(
        Step(1, "assign"), Step(6, "request_completion", text="Situationsplan i skala "
             "1:500 och fasadritningar mot norr och öster saknas."))),
    Story("completion sent, to be checked", 20, steps=COMPLETED[:4]),
    Story("complete", 24, "RL", "rivning", 15, steps=(Step(1, "assign"),
                                                      Step(3, "mark_complete"))),
    Story("under review", 40, steps=REVIEWED),
    Story("under review, overdue", 85, "BL", "tillbyggnad", 40, steps=REVIEWED),
    Story("neighbour hearing", 45, "BL", "nybyggnad", 160, steps=(
        *REVIEWED, Step(30, "start_hearing", text="Avvikelse: byggnadsarea över "
                                                  "planens största."))),
    Story("time limit extended", 66, "BL", "nybyggnad", 520, steps=(
        *REVIEWED, Step(60, "extend", text="Utredningen kräver remiss till "
                                           "länsstyrelsen (strandskydd)."))),
    Story("decision proposed, awaiting approval", 50, "MARK", "marklov", 0, steps=(
        *REVIEWED, Step(48, "propose", Outcome.GRANTED, "Marklovet kan ges."))),
    Story("sent back, under review again", 55, steps=(
        *REVIEWED, Step(45, "propose", Outcome.GRANTED, "Åtgärden följer detaljplanen."),
        Step(47, "send_back", text="Kontrollera byggnadsarean mot e1 innan beslut."))),
    Story("granted in time, served", 150, steps=decided(50, 52), own=True),
    Story("granted in time after completion", 130, "BL", "tillbyggnad", 35,
          steps=decided(60, 62, completed=True)),
    Story("granted two weeks late", 160, "BL", "nybyggnad", 140, steps=decided(75, 80)),
    Story("granted six weeks late (no fee)", 200, "BL", "nybyggnad", 210,
          steps=decided(105, 112)),
    Story("refused, served", 120, "BL", "mur/plank", 0, steps=decided(40, 43, Outcome.REFUSED)),
    Story("anmälan decided, not yet served", 30, "ANM", "eldstad", 0,
          steps=decided(20, 22, served=False)),
    Story("dismissed, never completed", 110, "BL", "tillbyggnad", 30, steps=(
        Step(1, "assign"), Step(5, "request_completion", text="Ritningar saknas."),
        Step(60, "propose", Outcome.DISMISSED, "Ansökan har inte kompletterats trots "
                                               "föreläggande."), Step(63, "approve"))),
    Story("withdrawn", 35, "FÖRF", "nybyggnad", 0, steps=(Step(1, "assign"),
                                                         Step(10, "withdraw"))),
]


@dataclass
class Cast:
    """Who acts in one municipality's stories."""

    municipality: Municipality
    officer: User
    deciders: list[User]
    applicants: list[User]
    own: User
    parcels: Iterator[Parcel]
    made: list[str] = field(default_factory=list)

    def decider(self, proposer: User | None) -> User:
        """A decision-maker who did not propose (four eyes)."""
        return next(u for u in self.deciders if u != proposer)


def workday(day: date, today: date) -> date:
    """The nearest weekday to ``day``, never after ``today``."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    while day > today or day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def pdf(text: str) -> SimpleUploadedFile:
    """A one-page PDF that says what it is."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawString(72, 760, text)
    page.rect(72, 300, 450, 400)
    page.showPage()
    page.save()
    return SimpleUploadedFile(f"{text.split()[0].lower()}.pdf", out.getvalue(),
                              content_type="application/pdf")


def footprint(parcel: Parcel, area_m2: float) -> dict[str, Any] | None:
    """A rectangle of about ``area_m2`` around a point of the parcel, as GeoJSON (lon/lat)."""
    if not area_m2:
        return None
    point = parcel.geom.point_on_surface
    width = max(4.0, (area_m2 * 1.4) ** 0.5)
    depth = area_m2 / width
    box = shapely.box(point.x - width / 2, point.y - depth / 2, point.x + width / 2,
                      point.y + depth / 2)
    shape = to_srid(box, 3006, 4326)
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"kind": "byggnad"},
        "geometry": shapely.geometry.mapping(shape)}]}


def story_play(story: Story, cast: Cast, today: date, rng: random.Random) -> Application:
    """Make one case: the draft, the submission and every move on its day."""
    applicant = cast.own if story.own else rng.choice(cast.applicants)
    received = workday(today - timedelta(days=story.received_days_ago), today)
    parcel = next(cast.parcels)
    with service_clock.as_of(received - timedelta(days=1)):
        application = application_start(applicant, story.case_type, story.measure)
        application_save(application, applicant, DraftInput(
            case_type=story.case_type, measure=story.measure,
            description=WHAT.get((story.case_type, story.measure), WHAT[("BL", "nybyggnad")]),
            building_area_m2=story.area_m2 or None, height_m=6.5 if story.area_m2 else None,
            floors=1 if story.area_m2 else None,
            contact_name=applicant.get_full_name(), contact_email=applicant.email,
            parcel_objektidentitet=str(parcel.objektidentitet),
            drawn=footprint(parcel, story.area_m2)))
        attachment_add(application, applicant, "situationsplan", pdf("Situationsplan 1:500"))
    with service_clock.as_of(received, time(9, rng.randrange(0, 59))):
        application_submit(application, applicant)
    proposer: User | None = None
    for step in story.steps:
        day = workday(received + timedelta(days=step.day), today)
        with service_clock.as_of(day, time(10 + rng.randrange(0, 6))):
            application.refresh_from_db()
            proposer = step_play(step, application, cast, applicant, proposer)
    application.refresh_from_db()
    # Some applicants rate the e-service after sending, or after the decision.
    if application.status in (Status.SUBMITTED, Status.DECIDED, Status.NOTIFIED) \
            and rng.random() < 0.7:
        feedback_give(application, applicant, rng.choice((3, 4, 4, 5, 5, 5)), "")
    return application


def step_play(step: Step, application: Application, cast: Cast, applicant: User,
              proposer: User | None) -> User | None:
    """Make one move; return who proposed the decision, if this move did."""
    officer = cast.officer
    plays: dict[str, Callable[[], object]] = {
        "assign": lambda: case_assign(actor=officer, application=application, officer=officer),
        "attach": lambda: completion_attach(actor=applicant, application=application,
                                            kind="fasadritning", upload=pdf("Fasadritning")),
        "send": lambda: completion_send(actor=applicant, application=application,
                                        answer=step.text),
        "extend": lambda: case_extend(actor=officer, application=application, weeks=10,
                                      reason=step.text),
        "withdraw": lambda: case_transition(actor=applicant, application=application,
                                            action="withdraw",
                                            move=Move(reason="Vi har ändrat våra planer.")),
        "approve": lambda: case_transition(
            actor=cast.decider(proposer), application=application, action="approve",
            move=Move(delegation_point="3.1.1")),
        "send_back": lambda: case_transition(
            actor=cast.decider(proposer), application=application, action="send_back",
            move=Move(reason=step.text)),
        "request_completion": lambda: case_transition(
            actor=officer, application=application, action="request_completion",
            move=Move(reason=step.text, items=[("situationsplan", ""), ("fasadritning", "")],
                      reply_by=service_clock.today() + timedelta(weeks=3))),
        "propose": lambda: case_transition(
            actor=officer, application=application, action="propose",
            move=Move(outcome=step.outcome, reason=step.text, delegation_point="3.1.1",
                      conditions="Kontrollansvarig enligt PBL krävs."
                      if step.outcome == Outcome.GRANTED else "")),
    }
    play = plays.get(step.do) or (lambda: case_transition(
        actor=officer, application=application, action=step.do, move=Move(reason=step.text)))
    play()
    return officer if step.do == "propose" else proposer


def cast_of(municipality: Municipality, own: User, rng: random.Random) -> Cast | None:
    """The people and parcels of a municipality's stories (None if it lacks either)."""
    roles = StaffRole.objects.filter(municipality=municipality).select_related("user")
    officers = sorted({r.user for r in roles if r.role == Role.OFFICER}, key=lambda u: u.pk)
    deciders = sorted({r.user for r in roles if r.role == Role.DECISION_MAKER},
                      key=lambda u: u.pk)
    parcels = list(Parcel.objects.filter(kommunkod=municipality.kommunkod, omradesnummer=1)
                   .order_by("beteckning")[:400])
    if not officers or not parcels or all(d == officers[0] for d in deciders):
        return None  # no cases without an officer, a second pair of eyes and parcels
    applicants = []
    for username, first, last in APPLICANTS:
        user, made = User.objects.get_or_create(username=username, defaults={
            "first_name": first, "last_name": last, "email": f"{username}@example.invalid"})
        if made:
            user.set_unusable_password()
            user.save()
        applicants.append(user)
    rng.shuffle(parcels)
    return Cast(municipality, officers[0], deciders, applicants, own, iter(parcels))


def demo_cases_load(*, own: User, today: date | None = None,
                    progress: Callable[[str], None] = lambda _m: None) -> dict[str, int]:
    """Play the stories in every municipality with officers, decision-makers and parcels
    that has no cases yet; return the number of cases made per kommunkod."""
    today = today or service_clock.today()
    made: dict[str, int] = {}
    for municipality in Municipality.objects.order_by("kommunkod"):
        if Application.objects.filter(municipality=municipality).exclude(
                status=Status.DRAFT).exists():
            continue
        rng = random.Random(int(municipality.kommunkod))  # noqa: S311 (a demo's history)
        cast = cast_of(municipality, own, rng)
        if cast is None:
            continue
        stories = STORIES[:len(list(Parcel.objects.filter(
            kommunkod=municipality.kommunkod, omradesnummer=1)[:len(STORIES)]))]
        # The e-mails of a history are not sent to anyone.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            # Oldest first: case numbers follow the days of receipt.
            for number, story in enumerate(sorted(stories, key=lambda s: -s.received_days_ago),
                                           start=1):
                # Not one transaction a story: what the services do after a commit (the
                # checks on receipt) then happens on the story's day, not today.
                case = story_play(story, cast, today, rng)
                progress(f"{municipality.name}: {number}/{len(stories)} {case.case_number} "
                         f"{story.ends}")
        made[municipality.kommunkod] = len(stories)
    return made
