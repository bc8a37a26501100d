"""The GIS staff's export form: layer, format, CRS and filters (cases' own filters too)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from geodata.exports import EXPORT_SRIDS, FORMATS, layer_names
from permits.models import CaseType
from permits.workflow import Status

CRS_LABELS = {3006: "SWEREF 99 TM (EPSG:3006)", 3021: "RT 90 2.5 gon V (EPSG:3021)",
              4326: "WGS 84 (EPSG:4326)"}


# SWEREF 99's local zones by their central meridians, as GIS staff know them.
ZONES = {3007: "12 00", 3008: "13 30", 3009: "15 00", 3010: "16 30", 3011: "18 00",
         3012: "14 15", 3013: "15 45", 3014: "17 15", 3015: "18 45", 3016: "20 15",
         3017: "21 45", 3018: "23 15"}


def _crs_choices() -> list[tuple[str, str]]:
    zones = [(str(code), f"SWEREF 99 {ZONES[code]} (EPSG:{code})") for code in sorted(ZONES)]
    first = [(str(code), CRS_LABELS[code]) for code in (3006,)]
    rest = [(str(code), CRS_LABELS[code]) for code in (3021, 4326)]
    assert {int(c) for c, _l in first + zones + rest} == set(EXPORT_SRIDS)
    return first + zones + rest


class ExportForm(forms.Form):
    layer = forms.ChoiceField(label=_("Layer"))
    file_format = forms.ChoiceField(label=_("Format"), choices=[
        (name, fmt.label) for name, fmt in FORMATS.items()])
    crs = forms.ChoiceField(label=_("Coordinate reference system"), choices=_crs_choices,
                            help_text=_("GeoJSON is always written in WGS 84."))
    municipality = forms.CharField(label=_("Municipality (code or name)"), required=False,
                                   max_length=60)
    bbox = forms.CharField(label=_("Area (minx,miny,maxx,maxy)"), required=False,
                           max_length=200, help_text=_("In the CRS below; empty for all."))
    bbox_crs = forms.ChoiceField(label=_("CRS of the area"), choices=_crs_choices,
                                 required=False)
    status = forms.MultipleChoiceField(
        label=_("Cases: status"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(s.value, s.label) for s in Status if s != Status.DRAFT])
    case_type = forms.MultipleChoiceField(label=_("Cases: case type"), required=False,
                                          widget=forms.CheckboxSelectMultiple,
                                          choices=CaseType.choices)
    received_from = forms.DateField(label=_("Cases: received from"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(label=_("Cases: received up to"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["layer"].choices = [(name, name) for name in layer_names()]

    def filters(self) -> dict[str, Any]:
        """The filters of the export as the run records them (JSON)."""
        data = self.cleaned_data
        out: dict[str, Any] = {}
        if data.get("municipality"):
            out["kommunkod"] = data["municipality"].strip()
        if data.get("bbox"):
            out["bbox"] = data["bbox"]
            out["bbox_crs"] = int(data.get("bbox_crs") or 3006)
        if data["layer"] in ("cases", "checks", "neighbours"):
            for name in ("status", "case_type"):
                if data.get(name):
                    out[name] = list(data[name])
            for name in ("received_from", "received_to"):
                if data.get(name):
                    out[name] = data[name].isoformat()
        return out
