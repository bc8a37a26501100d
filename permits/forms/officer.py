"""Forms of the officer's workspace: queue filters and the moves of a case."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from permits.models import AttachmentKind, CaseType, CompletionItem
from permits.selectors.casework import QUEUES, SORTS, QueueFilter
from permits.services.casework import Move
from permits.workflow import TRANSITIONS, Outcome, Status

QUEUE_LABELS = {"mine": _("My cases"), "unassigned": _("Unassigned"),
                "overdue": _("Overdue"), "all": _("All cases")}
SORT_LABELS = {"deadline": _("Deadline, earliest first"),
               "-deadline": _("Deadline, latest first"),
               "received": _("Received, oldest first"), "-received": _("Received, newest first"),
               "case_number": _("Case number"), "property": _("Property")}


class DateInput(forms.DateInput):
    input_type = "date"


class QueueForm(forms.Form):
    """Filters and the sort order of a queue (all optional)."""

    queue = forms.ChoiceField(label=_("Queue"), required=False,
                              choices=[(q, QUEUE_LABELS[q]) for q in QUEUES])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", _("any")), *[(s.value, s.label) for s in Status if s != Status.DRAFT]])
    case_type = forms.ChoiceField(label=_("Case type"), required=False,
                                  choices=[("", _("any")), *CaseType.choices])
    deadline_before = forms.DateField(label=_("Deadline on or before"), required=False,
                                      widget=DateInput)
    property = forms.CharField(label=_("Property"), required=False, max_length=100)
    applicant = forms.CharField(label=_("Applicant"), required=False, max_length=100)
    sort = forms.ChoiceField(label=_("Sort by"), required=False,
                             choices=[(key, SORT_LABELS[key]) for key in SORTS])

    def filters(self) -> QueueFilter:
        """The filter of a valid form (defaults for what is left empty)."""
        d = self.cleaned_data if self.is_valid() else {}
        return QueueFilter(queue=d.get("queue") or "all", status=d.get("status") or "",
                           case_type=d.get("case_type") or "",
                           deadline_before=d.get("deadline_before"),
                           property=d.get("property") or "", applicant=d.get("applicant") or "",
                           sort=d.get("sort") or "deadline")


class MoveForm(forms.Form):
    """One move of a case; which fields count depends on the action."""

    action = forms.ChoiceField(choices=[(a, a) for a in TRANSITIONS], widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason or message"), required=False, max_length=8000,
                             widget=forms.Textarea(attrs={"rows": 3}))
    on = forms.DateField(label=_("Date"), required=False, widget=DateInput)
    reply_by = forms.DateField(label=_("Reply by"), required=False, widget=DateInput)
    missing = forms.MultipleChoiceField(
        label=_("Missing documents"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[*AttachmentKind.choices, (CompletionItem.TEXT, _("an answer in writing"))])
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=[("", "–"), *Outcome.choices])
    conditions = forms.CharField(label=_("Conditions"), required=False, max_length=8000,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    delegation_point = forms.CharField(label=_("Delegation point"), required=False,
                                       max_length=100)

    def move(self) -> Move:
        d: dict[str, Any] = self.cleaned_data
        return Move(reason=d.get("reason") or "", on=d.get("on"), reply_by=d.get("reply_by"),
                    items=[(kind, "") for kind in d.get("missing") or []],
                    outcome=d.get("outcome") or "", conditions=d.get("conditions") or "",
                    delegation_point=d.get("delegation_point") or "")


class ExtendForm(forms.Form):
    weeks = forms.IntegerField(label=_("Weeks"), min_value=1, max_value=10)
    reason = forms.CharField(label=_("Reason for the extension"), max_length=4000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class AuditExportForm(forms.Form):
    """The registrar's export of a municipality's audit trail."""

    since = forms.DateField(label=_("From"), required=False, widget=DateInput)
    until = forms.DateField(label=_("To"), required=False, widget=DateInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since: date | None = data.get("since")
        until: date | None = data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The first day comes after the last."))
        return data
