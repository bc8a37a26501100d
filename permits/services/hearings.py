"""Hearings and referrals: the neighbours of the property heard (PBL 9:25) and the
bodies the case is referred to, each sent a letter with the day to reply by; replies
recorded; reminders before and after that day. Each step is in the audit trail."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from geodata.models import Parcel
from geodata.selectors import MAX_EXTRA_M, NeighbourProperty, neighbours
from permits.documents.hearing_letter import hearing_letter_pdf
from permits.documents.receipt import situation_map
from permits.exceptions import IllegalTransition, InvalidCasework, NotAllowed
from permits.models import Application, Committee, HearingParty, ReferralBody
from permits.owners import owner_register
from permits.selectors.casework import roles_in
from permits.services import clock as service_clock
from permits.services.casework import Move, case_transition, event_record
from permits.workflow import OPEN, Role, Status

log = logging.getLogger(__name__)
Kind, Reply = HearingParty.Kind, HearingParty.Reply


def reply_days(application: Application) -> int:
    """The days a party has to reply: the committee's, else the installation's setting."""
    committee = Committee.objects.filter(municipality_id=application.municipality_id).first()
    if committee is not None and committee.hearing_reply_days:
        return int(committee.hearing_reply_days)
    return int(settings.LOVKARTA_HEARING_REPLY_DAYS)


def _officer(actor: Any, application: Application) -> None:
    if Role.OFFICER not in roles_in(actor, application):
        raise NotAllowed(_("Only an officer of the municipality hears neighbours and refers "
                           "cases."))


def hearing_neighbours(application: Application, extra_m: float = 0.0
                       ) -> list[NeighbourProperty]:
    """Return the neighbours of the case's property to hear (none without a property)."""
    if not 0 <= extra_m <= MAX_EXTRA_M:
        raise InvalidCasework(_("The extra distance is between 0 and %(max)d metres.")
                              % {"max": MAX_EXTRA_M})
    parcel = application.parcel
    if parcel is None and application.parcel_objektidentitet:
        parcel = Parcel.objects.filter(objektidentitet=application.parcel_objektidentitet).first()
    if parcel is None:
        return []
    return neighbours(parcel, extra_m=extra_m).properties


def hearing_start(*, actor: Any, application: Application, extra_m: float = 0.0,
                  include_neighbours: bool = True, bodies: Iterable[ReferralBody] = (),
                  ip: str | None = None) -> list[HearingParty]:
    """Hear the neighbours and refer the case to bodies: one party and one letter each.

    Neighbours are found through geodata (touching, across a road, within ``extra_m``);
    a property or body already on the case is not sent a second letter. A case under
    review moves to the hearing; one already in it takes more parties. Referral bodies
    with an e-mail address get their letter by e-mail.
    """
    _officer(actor, application)
    if application.status not in (Status.REVIEW, Status.HEARING):
        raise IllegalTransition(_("Neighbours are heard and cases referred while the case "
                                  "is under review."))
    chosen = list(bodies)
    if any(b.municipality_id != application.municipality_id or not b.active
           for b in chosen):
        raise InvalidCasework(_("Choose bodies from the municipality's register."))
    found = hearing_neighbours(application, extra_m) if include_neighbours else []
    if include_neighbours and not found and not chosen:
        raise InvalidCasework(_("No neighbours were found: the case has no property in the "
                                "map data."))
    if not found and not chosen:
        raise InvalidCasework(_("Choose neighbours or at least one body."))
    today = service_clock.today()
    reply_by = today + timedelta(days=reply_days(application))
    heard = {str(r) for r in application.hearing_parties.filter(
        kind=Kind.NEIGHBOUR).values_list("registerenhetsreferens", flat=True)}
    referred = set(application.hearing_parties.filter(kind=Kind.REFERRAL).values_list(
        "body_id", flat=True))
    new = [_neighbour_party(application, actor, n, today, reply_by) for n in found
           if str(n.registerenhetsreferens) not in heard]
    new += [_referral_party(application, actor, b, today, reply_by) for b in chosen
            if b.pk not in referred]
    if not new:
        raise InvalidCasework(_("Everyone found has been sent a letter already."))
    map_png = situation_map(application)
    with transaction.atomic():
        if application.status == Status.REVIEW:
            case_transition(actor=actor, application=application, action="start_hearing",
                            move=Move(reason=ngettext(
                                "%(n)d letter, reply by %(day)s",
                                "%(n)d letters, reply by %(day)s", len(new)) % {
                                "n": len(new), "day": f"{reply_by:%Y-%m-%d}"}), ip=ip)
        for party in new:
            party.save()
            _letter_make(party, map_png)
            event_record(application, actor, "hearing_letter", party.designation or party.name,
                         ip=ip, data={"party": party.pk, "kind": party.kind,
                                      "reply_by": str(reply_by), "extra_m": extra_m,
                                      "sha256": party.letter_sha256})
            if party.kind == Kind.REFERRAL and party.email:
                _send_letter(party)
    return new


def _neighbour_party(application: Application, actor: Any, found: NeighbourProperty,
                     today: date, reply_by: date) -> HearingParty:
    owners = owner_register().owners_of(found.designation)
    if owners:
        name = ", ".join(o.name for o in owners)
        lines = list(owners[0].address_lines) or found.addresses[:1]
    else:
        name = _("To the owner of %(property)s") % {"property": found.designation}
        lines = found.addresses[:1]
    return HearingParty(
        application=application, kind=Kind.NEIGHBOUR, designation=found.designation,
        registerenhetsreferens=found.registerenhetsreferens, kommunkod=found.kommunkod,
        relation=found.relation, distance_m=found.distance_m, name=name[:300],
        address_lines="\n".join(lines), sent_on=today, reply_by=reply_by, created_by=actor)


def _referral_party(application: Application, actor: Any, body: ReferralBody, today: date,
                    reply_by: date) -> HearingParty:
    return HearingParty(application=application, kind=Kind.REFERRAL, body=body,
                        name=body.name, address_lines=body.address, email=body.email,
                        sent_on=today, reply_by=reply_by, created_by=actor)


def _letter_make(party: HearingParty, map_png: bytes) -> None:
    content = hearing_letter_pdf(party, map_png)
    party.letter_sha256 = hashlib.sha256(content).hexdigest()
    number = (party.application.case_number or str(party.application_id)).replace(" ", "-")
    party.letter.save(f"{'granne' if party.kind == Kind.NEIGHBOUR else 'remiss'}-{number}-"
                      f"{party.pk}.pdf", ContentFile(content), save=False)
    party.save(update_fields=["letter", "letter_sha256"])


def _send_letter(party: HearingParty) -> None:
    """E-mail a referral body its letter, after the transaction commits."""
    from django.core.mail import EmailMessage

    number = party.application.case_number
    subject = _("Referral: application %(number)s") % {"number": number}
    body = _("Please find attached a referral of application %(number)s. Reply by "
             "%(day)s.") % {"number": number, "day": f"{party.reply_by:%Y-%m-%d}"}
    party.letter.open("rb")
    try:
        content = party.letter.read()
    finally:
        party.letter.close()

    def send() -> None:
        message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [party.email])
        message.attach(party.letter.name.rsplit("/", 1)[-1], content, "application/pdf")
        try:
            message.send()
        except OSError as exc:
            log.error("referral to %s failed: %s", party.email, exc)

    transaction.on_commit(send)


def reply_record(*, actor: Any, party: HearingParty, reply: str, text: str = "",
                 received_on: date | None = None, ip: str | None = None) -> HearingParty:
    """Record a party's reply (no objection, objection, or conditions) on the case."""
    application = party.application
    _officer(actor, application)
    if application.status not in OPEN:
        raise IllegalTransition(_("Replies are recorded while the case is open."))
    if reply not in Reply.values or reply == Reply.NONE:
        raise InvalidCasework(_("Choose what the reply says."))
    if reply in (Reply.OBJECTION, Reply.CONDITIONS) and not text.strip():
        raise InvalidCasework(_("Write down the objection or the conditions."))
    today = service_clock.today()
    received = received_on or today
    if received > today:
        raise InvalidCasework(_("The date cannot be in the future."))
    if received < party.sent_on:
        raise InvalidCasework(_("A reply is received after the letter was sent."))
    with transaction.atomic():
        HearingParty.objects.filter(pk=party.pk).update(
            reply=reply, reply_text=text.strip(), received_on=received, recorded_by=actor)
        party.refresh_from_db()
        event_record(application, actor, "hearing_reply",
                     f"{party.designation or party.name}: {party.get_reply_display()}",
                     ip=ip, data={"party": party.pk, "reply": reply,
                                  "received_on": str(received), "late": received >
                                  party.reply_by})
    return party


@dataclass(frozen=True)
class Reminder:
    """A reminder due: to whom, and whether before or after the reply day."""

    party: HearingParty
    when: str  # "before" or "after"


def reminders_due(today: date) -> list[Reminder]:
    """Return the reminders due on a day: to parties with an e-mail address and no reply,
    of open cases, some days before the reply day and some days after it passed."""
    before = today + timedelta(days=settings.LOVKARTA_HEARING_REMIND_BEFORE_DAYS)
    after = today - timedelta(days=settings.LOVKARTA_HEARING_REMIND_AFTER_DAYS)
    waiting = HearingParty.objects.filter(reply=Reply.NONE, application__status__in=OPEN
                                          ).exclude(email="").select_related("application")
    due = [Reminder(p, "before") for p in waiting.filter(
        reminded_before_on=None, reply_by__gte=today, reply_by__lte=before,
        sent_on__lt=today)]
    due += [Reminder(p, "after") for p in waiting.filter(
        reminded_after_on=None, reply_by__lte=after)]
    return due


def reminder_send(*, reminder: Reminder, today: date) -> bool:
    """E-mail a reminder and record it (on the party and in the audit trail); False when
    it was sent already or the e-mail failed (then the next run tries again)."""
    from django.core.mail import send_mail

    party = reminder.party
    number = party.application.case_number
    if reminder.when == "before":
        subject = _("Reminder: reply on %(number)s by %(day)s") % {
            "number": number, "day": f"{party.reply_by:%Y-%m-%d}"}
        field = "reminded_before_on"
    else:
        subject = _("Reply overdue: %(number)s (reply by %(day)s)") % {
            "number": number, "day": f"{party.reply_by:%Y-%m-%d}"}
        field = "reminded_after_on"
    body = _("%(name)s: the committee is waiting for your reply on application %(number)s, "
             "due %(day)s. Write to the committee and give the case number.") % {
        "name": party.name, "number": number, "day": f"{party.reply_by:%Y-%m-%d}"}
    if HearingParty.objects.filter(pk=party.pk).exclude(**{field: None}).exists():
        return False  # sent already
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [party.email])
    except OSError as exc:  # not recorded: the next run tries again
        log.error("reminder to %s failed: %s", party.email, exc)
        return False
    with transaction.atomic():
        HearingParty.objects.filter(pk=party.pk).update(**{field: today})
        setattr(party, field, today)
        event_record(party.application, None, "hearing_reminder",
                     f"{party.name}: {reminder.when}",
                     data={"party": party.pk, "when": reminder.when,
                           "reply_by": str(party.reply_by)})
    return True
