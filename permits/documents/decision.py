"""The decision (beslut) as an archivable PDF/A-2b document, from a template per outcome:
the case and property, what is decided and why, conditions, the fee and its reduction,
the appeal instructions, who is served, and the situation map."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from permits.clock import reduced_fee
from permits.documents.pdf import finish_pdfa, fonts, opaque_png, styles
from permits.documents.receipt import MAP_SIZE, escape, situation_map
from permits.models import Application, Committee, Decision
from permits.workflow import Outcome


def _operative(decision: Decision, application: Application, committee: str) -> str:
    """The operative part: what the committee decides, in the words of its outcome."""
    what = application.get_case_type_display()
    designation = application.property_designation or _("the property")
    texts = {
        Outcome.GRANTED: _("%(committee)s grants the application for %(what)s on "
                           "%(property)s."),
        Outcome.REFUSED: _("%(committee)s refuses the application for %(what)s on "
                           "%(property)s."),
        Outcome.DISMISSED: _("%(committee)s dismisses the application for %(what)s on "
                             "%(property)s, since it was not completed as requested."),
        Outcome.WRITTEN_OFF: _("%(committee)s writes off the case about %(what)s on "
                               "%(property)s."),
    }
    return texts[Outcome(decision.outcome)] % {"committee": committee, "what": what,
                                                  "property": designation}


def appeal_instructions(committee: Committee) -> list[str]:
    """How to appeal (överklagandehänvisning), PBL 13 kap. and förvaltningslagen."""
    return [
        _("The decision can be appealed to the county administrative board "
          "(länsstyrelsen). The appeal is written, says which decision it concerns and "
          "what change you want, and is sent to %(committee)s, not to the county "
          "administrative board.") % {"committee": committee.name},
        _("The appeal must have reached %(committee)s within three weeks of the day you "
          "were served the decision. Those who are told of the decision only by its "
          "announcement in Post- och Inrikes Tidningar are deemed served on the tenth day "
          "after the announcement.") % {"committee": committee.name},
        _("%(committee)s checks that the appeal came in time and sends it on to the county "
          "administrative board.") % {"committee": committee.name},
    ]


def decision_pdf(decision: Decision) -> bytes:
    """Return the decision as PDF/A-2b."""
    application = decision.application
    committee, _created = Committee.objects.get_or_create(
        municipality_id=application.municipality_id)
    sheet = styles()
    body = sheet["BodyText"]
    decided = timezone.localtime(decision.decided_at or timezone.now())
    title = _("Decision %(number)s") % {"number": application.case_number}
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=title, author=committee.name,
                            subject=application.property_designation,
                            initialFontName=fonts()[0],  # no unembedded Helvetica
                            leftMargin=18 * mm,
                            rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
    decider = decision.decided_by
    facts = [
        (_("Case number"), application.case_number or "-"),
        (_("Date of decision"), f"{decided:%Y-%m-%d}"),
        (_("Committee"), f"{committee.name}, {application.municipality.name}"
         if application.municipality else committee.name),
        (_("Property"), application.property_designation or _("not identified")),
        (_("Case type"), application.get_case_type_display()),
        (_("Measure"), application.get_measure_display()),
        (_("Applicant"), application.contact_name or application.applicant.get_username()),
        (_("Decided by"), (decider.get_full_name() or decider.get_username()) if decider
         else "-"),
        (_("Delegation point"), decision.delegation_point or "-"),
    ]
    table = Table([[Paragraph(f"<b>{k}</b>", body), Paragraph(escape(str(v)), body)]
                   for k, v in facts], colWidths=[50 * mm, 120 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("FONTNAME", (0, 0), (-1, -1), fonts()[0]),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey)]))
    story = [Paragraph(escape(title), sheet["Title"]), table, Spacer(1, 5 * mm),
             Paragraph(_("Decision"), sheet["Heading2"]),
             Paragraph(escape(_operative(decision, application, committee.name)), body),
             Paragraph(_("Description of the measure"), sheet["Heading3"]),
             Paragraph(escape(application.description or "-"), body),
             Paragraph(_("Reasons"), sheet["Heading2"]),
             Paragraph(escape(decision.reasons), body)]
    if decision.conditions:
        story += [Paragraph(_("Conditions"), sheet["Heading2"]),
                  Paragraph(escape(decision.conditions), body)]
    story += _fee(decision, application, sheet)
    if decision.outcome == Outcome.GRANTED:
        story += [Paragraph(_("Good to know"), sheet["Heading2"]), Paragraph(escape(_(
            "Building may not start before the committee has given a start notice "
            "(startbesked). A permit lapses unless the work has begun within two years and "
            "been finished within five years of the day the decision became final.")), body)]
    story.append(Paragraph(_("How to appeal"), sheet["Heading2"]))
    story += [Paragraph(escape(text), body) for text in appeal_instructions(committee)]
    story += [Paragraph(_("The decision is served on"), sheet["Heading2"]),
              Paragraph(escape(", ".join(served_on(application))), body),
              Spacer(1, 4 * mm), Paragraph(_("Situation map"), sheet["Heading2"]),
              Image(opaque_png(situation_map(application)), width=170 * mm,
                    height=170 * mm * MAP_SIZE[1] / MAP_SIZE[0])]
    doc.build(story)
    return finish_pdfa(out.getvalue(), title=title, author=committee.name,
                       subject=application.property_designation or title,
                       lang=(get_language() or "sv")[:2], created=decided)


def _fee(decision: Decision, application: Application, sheet: object) -> list[object]:
    body = sheet["BodyText"]  # type: ignore[index]
    heading = Paragraph(_("Fee"), sheet["Heading2"])  # type: ignore[index]
    if decision.fee_sek is None:
        return [heading, Paragraph(escape(_("No fee is charged by the fee table in force "
                                            "when the application was received.")), body)]
    fifths = decision.reduction_fifths or 0
    table = application.fee_table
    lines = [_("Fee by %(table)s (in force from %(day)s): %(fee)s kr.") % {
        "table": table.name if table else "-",
        "day": f"{table.valid_from:%Y-%m-%d}" if table else "-",
        "fee": f"{decision.fee_sek:,}".replace(",", " ")}]
    if fifths:
        lines.append(_("The decision came after the time limit of %(deadline)s, so the fee "
                       "is reduced by %(fifths)d fifths (PBL 12 kap. 8 a §).") % {
            "deadline": f"{application.deadline:%Y-%m-%d}" if application.deadline else "-",
            "fifths": fifths})
    lines.append(_("To pay: %(amount)s kr. An invoice is sent separately.") % {
        "amount": f"{reduced_fee(decision.fee_sek, fifths):,}".replace(",", " ")})
    return [heading, *[Paragraph(escape(line), body) for line in lines]]


def served_on(application: Application) -> list[str]:
    """Who is served the decision: the applicant, and those heard who objected."""
    people = [application.contact_name or application.applicant.get_username()]
    people += [p.name for p in application.hearing_parties.filter(
        kind="neighbour", reply="objection")]
    return people
