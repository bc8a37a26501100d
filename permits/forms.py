"""Forms: parse and validate input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from permits.models import CaseType, Measure


class ApplicationForm(forms.Form):
    """A building-permit application pinned on the map."""

    case_type = forms.ChoiceField(label=_("Case type"), choices=CaseType.choices,
                                  initial=CaseType.BL)
    measure = forms.ChoiceField(label=_("Measure"), choices=Measure.choices)
    description = forms.CharField(
        label=_("Describe what you want to do"), max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}))
    lat = forms.FloatField(widget=forms.HiddenInput, min_value=55.0, max_value=69.5,
                           error_messages={"required": _("Pin the location on the map.")})
    lon = forms.FloatField(widget=forms.HiddenInput, min_value=10.0, max_value=24.5,
                           error_messages={"required": _("Pin the location on the map.")})
    parcel = forms.CharField(widget=forms.HiddenInput, required=False)
    submission_key = forms.UUIDField(widget=forms.HiddenInput)
