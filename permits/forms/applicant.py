"""Forms: parse and validate input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.renderers import Jinja2
from django.utils.translation import gettext_lazy as _

from geodata.errors import InvalidInput, LimitExceeded
from geodata.geojson_input import json_load
from permits.guidance import ANSWERS
from permits.models import AttachmentKind, CaseType, DrawnFeature, Measure


class GuidanceForm(forms.Form):
    """What do you want to do?"""

    answer = forms.ChoiceField(
        label=_("What do you want to do?"), widget=forms.RadioSelect,
        choices=[(a.key, a.label) for a in ANSWERS],
        error_messages={"required": _("Choose what you want to do.")})


# Django's own widget templates in Jinja2: the same HTML as the default renderer's, made
# about four times faster (the form page renders twenty-odd widgets, four of them selects
# whose options the template language renders one include at a time). One instance, so
# that its Jinja2 environment and compiled templates are made once per process.
FAST_WIDGETS = Jinja2()


class DraftForm(forms.Form):
    """The application: every field optional while it is a draft."""

    default_renderer = FAST_WIDGETS

    case_type = forms.ChoiceField(label=_("Case type"), choices=CaseType.choices)
    measure = forms.ChoiceField(label=_("Measure"), choices=Measure.choices)
    description = forms.CharField(label=_("Describe what you want to do"), max_length=4000,
                                  required=False, widget=forms.Textarea(attrs={"rows": 4}))
    building_area_m2 = forms.FloatField(label=_("Building area (m²)"), required=False,
                                        min_value=0, max_value=100_000)
    height_m = forms.FloatField(label=_("Height (m)"), required=False, min_value=0,
                                max_value=500)
    floors = forms.IntegerField(label=_("Number of floors"), required=False, min_value=0,
                                max_value=100)
    contact_name = forms.CharField(label=_("Your name"), max_length=200, required=False,
                                   widget=forms.TextInput(attrs={"autocomplete": "name"}))
    contact_email = forms.EmailField(label=_("E-mail"), required=False,
                                     widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    contact_phone = forms.CharField(label=_("Telephone"), max_length=40, required=False,
                                    widget=forms.TextInput(attrs={"autocomplete": "tel"}))
    lat = forms.FloatField(widget=forms.HiddenInput, required=False)
    lon = forms.FloatField(widget=forms.HiddenInput, required=False)
    parcel = forms.CharField(widget=forms.HiddenInput, required=False)
    designation = forms.CharField(
        label=_("Property designation or address"), max_length=200, required=False,
        help_text=_("For example TOMMING 2:6 or Storgatan 11."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    chosen = forms.CharField(required=False)
    whole_parcel = forms.BooleanField(label=_("The whole property is the site of the work"),
                                      required=False)
    corners = forms.CharField(
        label=_("Or type the corners of the site"), required=False,
        help_text=_("One corner a line: easting and northing in SWEREF 99 TM, for example "
                    "616130 6919890."),
        widget=forms.Textarea(attrs={"rows": 3}))
    drawn = forms.CharField(widget=forms.HiddenInput, required=False)
    draw_kind = forms.ChoiceField(label=_("What are you drawing?"), required=False,
                                  choices=DrawnFeature.Kind.choices)
    attachment_kind = forms.ChoiceField(label=_("Document"), required=False,
                                        choices=[("", "—"), *AttachmentKind.choices])
    attachment_file = forms.FileField(
        label=_("File (PDF)"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}))

    def clean_drawn(self) -> dict[str, Any] | None:
        text = self.cleaned_data.get("drawn") or ""
        if not text.strip():
            return None
        try:
            # Nesting within LOVKARTA_JSON_MAX_DEPTH; the service checks the geometries.
            value = json_load(text)
        except LimitExceeded as exc:
            raise forms.ValidationError(str(exc)) from exc
        except InvalidInput as exc:
            raise forms.ValidationError(_("The drawing could not be read.")) from exc
        if not isinstance(value, dict) or value.get("type") != "FeatureCollection":
            raise forms.ValidationError(_("The drawing could not be read."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("attachment_file") and not data.get("attachment_kind"):
            self.add_error("attachment_kind", _("Choose what kind of document it is."))
        return data


class FeedbackForm(forms.Form):
    """How was it to apply?"""

    rating = forms.TypedChoiceField(
        label=_("How easy was it to apply? (1 = very hard, 5 = very easy)"), coerce=int,
        widget=forms.RadioSelect, choices=[(n, str(n)) for n in range(1, 6)],
        error_messages={"required": _("Choose a rating from 1 to 5.")})
    comment = forms.CharField(label=_("Comment (optional)"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))


class CompletionForm(forms.Form):
    """A document and an answer in reply to a completion request."""

    kind = forms.ChoiceField(label=_("Document"), required=False,
                             choices=[("", _("Choose…")), *AttachmentKind.choices])
    file = forms.FileField(label=_("File (PDF)"), required=False)
    answer = forms.CharField(label=_("Your answer"), required=False, max_length=8000,
                             widget=forms.Textarea(attrs={"rows": 4}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("file") is not None and not data.get("kind"):
            self.add_error("kind", _("Choose what kind of document it is."))
        return data
