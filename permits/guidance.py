"""Guidance: from "what do you want to do?" to the case type, measure and documents.

Data, not code paths: each answer names its case type and measure; each case type names
the documents it needs (PBL practice; a municipality may ask for more).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from permits.models import AttachmentKind, CaseType, Measure


@dataclass(frozen=True)
class Answer:
    """One answer to "what do you want to do?"."""

    key: str
    label: str
    hint: str
    case_type: str
    measure: str

    @property
    def case_type_label(self) -> str:
        """Return the case type as people say it, with its code: "bygglov (BL)"."""
        return f"{dict(CaseType.choices)[self.case_type]} ({self.case_type})"


ANSWERS: tuple[Answer, ...] = (
    Answer("bygga-nytt", _("Build a new house or other building"),
           _("A new building needs a building permit."), CaseType.BL, Measure.NYBYGGNAD),
    Answer("bygga-till", _("Extend a building"),
           _("An extension that makes the building larger."), CaseType.BL,
           Measure.TILLBYGGNAD),
    Answer("attefall", _("Build an Attefall house or extension"),
           _("Small buildings of at most 30 m² by a one- or two-family house: notification, "
             "no permit."), CaseType.ATTANM, Measure.ATTEFALL),
    Answer("andra-anvandning", _("Change what a building is used for"),
           _("For example a shop that becomes a home."), CaseType.BL,
           Measure.ANDRAD_ANVANDNING),
    Answer("fasad", _("Change the facade, colour or roofing"),
           _("Inside a detailed plan, changes to the look of a building need a permit."),
           CaseType.BL, Measure.FASAD),
    Answer("riva", _("Demolish a building"), _("Demolition inside a detailed plan needs a "
                                               "demolition permit."), CaseType.RL,
           Measure.RIVNING),
    Answer("plank", _("Build a wall or fence"), _("Walls and fences need a permit."),
           CaseType.BL, Measure.MUR_PLANK),
    Answer("skylt", _("Put up a sign"), _("Signs and illuminated signs need a permit."),
           CaseType.BL, Measure.SKYLT),
    Answer("eldstad", _("Install a fireplace or chimney"), _("A notification is enough."),
           CaseType.ANM, Measure.ELDSTAD),
    Answer("mark", _("Change the ground level (dig or fill)"),
           _("Raising or lowering the ground notably needs a site permit."), CaseType.MARK,
           Measure.MARKLOV),
    Answer("forhandsbesked", _("Ask whether I may build here, before I apply"),
           _("An advance notice, for example before buying a plot outside a plan."),
           CaseType.FORF, Measure.NYBYGGNAD),
    Answer("tillfalligt", _("Build something for a limited time"),
           _("A temporary permit, for at most 15 years in all."), CaseType.TIDS,
           Measure.NYBYGGNAD),
    Answer("strand", _("Build near a lake, river or the sea"),
           _("Within 100 m of the shore the shore protection may need an exemption."),
           CaseType.DI, Measure.NYBYGGNAD),
)
BY_KEY = {answer.key: answer for answer in ANSWERS}

DOCUMENTS: dict[str, tuple[str, ...]] = {
    CaseType.BL: (AttachmentKind.SITUATIONSPLAN, AttachmentKind.PLANRITNING,
                  AttachmentKind.FASADRITNING, AttachmentKind.SEKTIONSRITNING),
    CaseType.RL: (AttachmentKind.SITUATIONSPLAN, AttachmentKind.KONTROLLPLAN),
    CaseType.MARK: (AttachmentKind.SITUATIONSPLAN, AttachmentKind.SEKTIONSRITNING),
    CaseType.FORF: (AttachmentKind.SITUATIONSPLAN,),
    CaseType.ANM: (AttachmentKind.PLANRITNING, AttachmentKind.KONTROLLPLAN),
    CaseType.ATTANM: (AttachmentKind.SITUATIONSPLAN, AttachmentKind.PLANRITNING,
                      AttachmentKind.FASADRITNING, AttachmentKind.KONTROLLPLAN),
    CaseType.TIDS: (AttachmentKind.SITUATIONSPLAN, AttachmentKind.PLANRITNING,
                    AttachmentKind.FASADRITNING),
    CaseType.DI: (AttachmentKind.SITUATIONSPLAN,),
}
# Without these the municipality cannot start the case: submitting is refused.
REQUIRED_TO_SUBMIT: dict[str, tuple[str, ...]] = {
    case: (AttachmentKind.SITUATIONSPLAN,) if AttachmentKind.SITUATIONSPLAN in docs else ()
    for case, docs in DOCUMENTS.items()
}


def documents_for(case_type: str) -> list[str]:
    """Return the labels of the documents a case type needs."""
    labels = dict(AttachmentKind.choices)
    return [str(labels[kind]) for kind in DOCUMENTS.get(case_type, ())]
