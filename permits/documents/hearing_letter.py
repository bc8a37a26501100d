"""The hearing letter (underrättelse) to a neighbour, or the referral letter (remiss) to a
body, as PDF/A-2b: the case and property, what is planned, what deviates from the plan
(from the case's latest checks), a map extract, the day to reply by and how to reply."""

from __future__ import annotations

import io
from datetime import datetime, time

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from permits.documents.pdf import finish_pdfa, fonts, opaque_png, styles
from permits.documents.receipt import MAP_SIZE, escape, situation_map
from permits.models import Application, CaseCheck, Committee, HearingParty

# The checks that say what deviates; "neighbours" only says whether to hear them.
NOT_A_DEVIATION = {"neighbours", "shoreline"}


def deviations(application: Application) -> list[str]:
    """Return what deviates from the plan, or needs judging, by the case's latest checks."""
    latest = CaseCheck.objects.filter(application=application).order_by(
        "-run_at", "-id").first()
    if latest is None:
        return []
    out = []
    for check in latest.result.get("checks", []):
        if check.get("status") not in ("fail", "review") or check.get("code") in NOT_A_DEVIATION:
            continue
        message, text = check.get("message") or "", check.get("text") or ""
        line = f"{text}: {message}" if check.get("bestammelsekod") and text and message else (
            message or text)
        if line and line not in out:
            out.append(line)
    return out


def hearing_letter_pdf(party: HearingParty, map_png: bytes | None = None) -> bytes:
    """Return the letter to one party (``map_png``: the case's map extract, if made)."""
    application = party.application
    committee, _created = Committee.objects.get_or_create(
        municipality_id=application.municipality_id)
    sheet = styles()
    body = sheet["BodyText"]
    neighbour = party.kind == HearingParty.Kind.NEIGHBOUR
    number = application.case_number or str(application.pk)
    title = (_("Hearing of neighbours: application %(number)s") if neighbour
             else _("Referral: application %(number)s")) % {"number": number}
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=title, author=committee.name,
                            subject=application.property_designation,
                            initialFontName=fonts()[0], leftMargin=18 * mm,
                            rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
    sender = [committee.name] + ([application.municipality.name]
                                 if application.municipality else [])
    story = [Paragraph(escape("\n".join(sender + committee.address.splitlines())), body),
             Spacer(1, 4 * mm),
             Paragraph(escape("\n".join([party.name, *party.lines])), body),
             Spacer(1, 4 * mm), Paragraph(escape(title), sheet["Title"]),
             _facts(party, application, body), Spacer(1, 4 * mm)]
    story += _why(party, neighbour, committee, sheet)
    story += _deviations(application, sheet)
    story += [Paragraph(_("Map extract"), sheet["Heading2"]),
              Image(opaque_png(map_png or situation_map(application)), width=170 * mm,
                    height=170 * mm * MAP_SIZE[1] / MAP_SIZE[0])]
    story += _how_to_reply(party, committee, number, sheet)
    doc.build(story)
    sent = timezone.make_aware(datetime.combine(party.sent_on, time(8, 0)))
    return finish_pdfa(out.getvalue(), title=title, author=committee.name,
                       subject=application.property_designation or title,
                       lang=(get_language() or "sv")[:2], created=sent)


def _facts(party: HearingParty, application: Application, body: object) -> Table:
    facts = [
        (_("Case number"), application.case_number or "-"),
        (_("Date"), f"{party.sent_on:%Y-%m-%d}"),
        (_("Property"), application.property_designation or _("not identified")),
        (_("Applicant"), application.contact_name or application.applicant.get_username()),
        (_("Case type"), application.get_case_type_display()),
        (_("Measure"), application.get_measure_display()),
        (_("What is planned"), application.description or "-"),
    ]
    if application.building_area_m2 is not None:
        facts.append((_("Building area (m²)"), f"{application.building_area_m2:g}"))
    if application.height_m is not None:
        facts.append((_("Height (m)"), f"{application.height_m:g}"))
    if party.kind == HearingParty.Kind.NEIGHBOUR:
        facts.append((_("Your property"), party.designation))
    facts.append((_("Reply by"), f"{party.reply_by:%Y-%m-%d}"))
    table = Table([[Paragraph(f"<b>{escape(k)}</b>", body), Paragraph(escape(str(v)), body)]
                   for k, v in facts], colWidths=[50 * mm, 120 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("FONTNAME", (0, 0), (-1, -1), fonts()[0]),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey)]))
    return table


def _why(party: HearingParty, neighbour: bool, committee: Committee,
         sheet: object) -> list[object]:
    body = sheet["BodyText"]  # type: ignore[index]
    if neighbour:
        text = _("%(committee)s has received an application about a property near yours. "
                 "Since the measure deviates from the detailed plan, or lies outside a "
                 "plan, you are given the opportunity to say what you think of it before "
                 "the case is decided (PBL 9 kap. 25 §).") % {"committee": committee.name}
    else:
        text = _("%(committee)s refers the application to %(body)s for an opinion before "
                 "the case is decided.") % {"committee": committee.name, "body": party.name}
    return [Paragraph(_("Why you receive this letter"), sheet["Heading2"]),  # type: ignore[index]
            Paragraph(escape(text), body)]


def _deviations(application: Application, sheet: object) -> list[object]:
    body = sheet["BodyText"]  # type: ignore[index]
    found = deviations(application)
    out: list[object] = [Paragraph(_("What deviates from the plan"),
                                   sheet["Heading2"])]  # type: ignore[index]
    if not found:
        return [*out, Paragraph(escape(_("The checks against the plan found no deviation; "
                                         "the officer has judged that the neighbours are "
                                         "to be heard.")), body)]
    return [*out, *[Paragraph("• " + escape(line), body) for line in found]]


def _how_to_reply(party: HearingParty, committee: Committee, number: str,
                  sheet: object) -> list[object]:
    body = sheet["BodyText"]  # type: ignore[index]
    where = ", ".join([committee.name, *committee.address.splitlines()])
    lines = [
        _("Reply by %(day)s at the latest.") % {"day": f"{party.reply_by:%Y-%m-%d}"},
        _("Write to %(where)s and give the case number %(number)s. Say whether you have no "
          "objection, whether you object (and why), or on what conditions you accept the "
          "measure.") % {"where": where, "number": number},
    ]
    if party.kind == HearingParty.Kind.NEIGHBOUR:
        lines.append(_("If you have no objection you need not reply. If we have not heard "
                       "from you by then, the case may be decided without your opinion. If "
                       "you object and the permit is granted, you are served the decision "
                       "and may appeal it."))
    else:
        lines.append(_("If we have not heard from you by then, the case may be decided "
                       "without your opinion."))
    return [Spacer(1, 4 * mm), Paragraph(_("How to reply"), sheet["Heading2"]),  # type: ignore[index]
            *[Paragraph(escape(line), body) for line in lines]]
