"""Checks of a case's footprint against the plan, as run and stored: each run keeps the
figures and the data versions it read; a re-check after the data changed keeps what
changed until an officer acknowledges it; an officer's assessment of a check."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from permits.models.applications import Application


class CaseCheck(models.Model):
    """One run of the checks of a case (the footprint it had then)."""

    class Reason(models.TextChoices):
        SUBMITTED = "submitted", _("on receipt")
        ASKED = "asked", _("asked for by the officer")
        DATA_CHANGED = "data_changed", _("the map data changed")

    application = models.ForeignKey(Application, on_delete=models.CASCADE,
                                     related_name="checks")
    run_at = models.DateTimeField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                               null=True, blank=True, related_name="+")
    # The report as the checks API gives it: plan, checks, regulations, data versions.
    result = models.JSONField(encoder=DjangoJSONEncoder)
    # For a re-check: what differs from the run before (code, before, after), and the
    # sync that made it; an officer acknowledges it.
    changes = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    trigger = models.CharField(max_length=200, blank=True)  # e.g. "source x, sync 12"
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                        null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-run_at", "-id"]
        get_latest_by = ["run_at", "id"]
        indexes = [models.Index(fields=["application", "-run_at"], name="case_check_idx")]
        verbose_name = _("check run")
        verbose_name_plural = _("check runs")

    def __str__(self) -> str:
        return f"{self.application} {self.run_at:%Y-%m-%d %H:%M} {self.reason}"

    @property
    def needs_acknowledging(self) -> bool:
        return bool(self.changes) and self.acknowledged_at is None


class CheckAssessment(models.Model):
    """An officer's assessment of one check of a case, with a note (append-only: a new
    assessment is a new row; the audit trail keeps each)."""

    class Verdict(models.TextChoices):
        AGREE = "agree", _("as measured")
        ACCEPTABLE = "acceptable", _("a minor deviation (liten avvikelse)")
        NOT_ACCEPTABLE = "not_acceptable", _("not acceptable")
        NOT_RELEVANT = "not_relevant", _("not relevant to this case")

    application = models.ForeignKey(Application, on_delete=models.CASCADE,
                                    related_name="check_assessments")
    check_run = models.ForeignKey(CaseCheck, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=20)
    verdict = models.CharField(_("assessment"), max_length=20, choices=Verdict.choices)
    note = models.TextField(_("note"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                           related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("check assessment")
        verbose_name_plural = _("check assessments")

    def __str__(self) -> str:
        return f"{self.application} {self.code}: {self.get_verdict_display()}"
