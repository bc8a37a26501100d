"""The officer's hearings and referrals: start a hearing (neighbours, an extra distance,
bodies from the register), record a reply, the neighbour list as CSV, the letters.

Scoped like every officer page (another municipality's case is a 404); every letter read
and every export is in the audit trail."""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from geodata.selectors import MAX_EXTRA_M
from permits.exceptions import PermitsError
from permits.models import Application, HearingParty, ReferralBody
from permits.selectors.casework import case_get, is_staff_member
from permits.services.casework import case_read, event_record
from permits.services.hearings import hearing_neighbours, hearing_start, reply_record
from permits.views.officer import client_ip


class HearingStartForm(forms.Form):
    """Whom to hear: the neighbours (and how much further), and which bodies."""

    neighbours = forms.BooleanField(label=gettext_lazy("Hear the neighbours"), required=False)
    extra_m = forms.FloatField(label=gettext_lazy("Extra distance (m)"), min_value=0,
                               max_value=MAX_EXTRA_M, required=False)
    bodies = forms.ModelMultipleChoiceField(queryset=ReferralBody.objects.none(),
                                            required=False,
                                            label=gettext_lazy("Refer to"))

    def __init__(self, *args: Any, application: Application, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bodies"].queryset = ReferralBody.objects.filter(  # type: ignore[attr-defined]
            municipality_id=application.municipality_id, active=True)


class ReplyForm(forms.Form):
    """What a party replied, and when it came."""

    reply = forms.ChoiceField(label=gettext_lazy("Reply"), choices=[
        c for c in HearingParty.Reply.choices if c[0]])
    text = forms.CharField(label=gettext_lazy("What they said"), required=False,
                           max_length=10000)
    received_on = forms.DateField(label=gettext_lazy("Received"), required=False)


def _case(request: HttpRequest, pk: int) -> Application:
    if not is_staff_member(request.user):
        raise Http404
    try:
        return case_get(user=request.user, pk=pk)
    except Application.DoesNotExist:
        raise Http404 from None


def _back(pk: int) -> HttpResponse:
    return redirect(f"{reverse('permits:officer-case', args=[pk])}#hearing-heading")


def _errors(form: forms.Form) -> str:
    return " ".join(f"{form.fields[name].label}: {e}" if name in form.fields else str(e)
                    for name, errors in form.errors.items() for e in errors)


@login_required
@require_POST
def hearing_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Hear the neighbours and refer the case to the chosen bodies."""
    application = _case(request, pk)
    form = HearingStartForm(request.POST, application=application)
    if not form.is_valid():
        messages.error(request, _errors(form))
        return _back(pk)
    try:
        parties = hearing_start(actor=request.user, application=application,
                                extra_m=form.cleaned_data["extra_m"] or 0.0,
                                include_neighbours=form.cleaned_data["neighbours"],
                                bodies=form.cleaned_data["bodies"], ip=client_ip(request))
    except PermitsError as exc:
        messages.error(request, str(exc))
        return _back(pk)
    messages.success(request, ngettext("%(n)d letter is made; reply by %(day)s.",
                                       "%(n)d letters are made; reply by %(day)s.",
                                       len(parties)) % {
        "n": len(parties), "day": f"{parties[0].reply_by:%Y-%m-%d}"})
    return _back(pk)


@login_required
@require_POST
def reply_view(request: HttpRequest, pk: int, party_id: int) -> HttpResponse:
    """Record the reply of a neighbour or a body."""
    application = _case(request, pk)
    party = get_object_or_404(application.hearing_parties, pk=party_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors(form))
        return _back(pk)
    try:
        reply_record(actor=request.user, party=party, reply=form.cleaned_data["reply"],
                     text=form.cleaned_data["text"],
                     received_on=form.cleaned_data["received_on"], ip=client_ip(request))
    except PermitsError as exc:
        messages.error(request, str(exc))
        return _back(pk)
    messages.success(request, _("The reply is recorded."))
    return _back(pk)


@login_required
def letter_pdf(request: HttpRequest, pk: int, party_id: int) -> FileResponse:
    """Send a hearing or referral letter to staff (the read is audited)."""
    application = _case(request, pk)
    party = get_object_or_404(application.hearing_parties.exclude(letter=""), pk=party_id)
    case_read(actor=request.user, application=application,
              what=_("letter to %(name)s (PDF)") % {"name": party.designation or party.name},
              ip=client_ip(request))
    return FileResponse(party.letter.open("rb"), as_attachment=True,
                        filename=party.letter.name.rsplit("/", 1)[-1],
                        content_type="application/pdf")


CSV_COLUMNS = ("designation", "kommunkod", "relation", "distance_m", "addresses",
               "addressee", "sent_on", "reply_by", "reply", "received_on")


@login_required
def neighbours_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The neighbours as CSV: those heard, or (before a hearing) those that would be, with
    ``?extra_m=`` metres more."""
    application = _case(request, pk)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    heard = list(application.hearing_parties.filter(kind=HearingParty.Kind.NEIGHBOUR))
    if heard:
        for p in heard:
            writer.writerow((p.designation, p.kommunkod, p.relation, p.distance_m,
                             "; ".join(p.lines), p.name, p.sent_on, p.reply_by, p.reply,
                             p.received_on or ""))
    else:
        try:
            extra = float(request.GET.get("extra_m") or 0)
            found = hearing_neighbours(application, extra)
        except (ValueError, PermitsError):
            return HttpResponse(_("The extra distance is between 0 and %(max)d metres.")
                                % {"max": MAX_EXTRA_M},
                                content_type="text/plain; charset=utf-8", status=400)
        for n in found:
            writer.writerow((n.designation, n.kommunkod, n.relation, n.distance_m,
                             "; ".join(n.addresses), "", "", "", "", ""))
    event_record(application, request.user, "export", _("neighbours (CSV)"),
                 ip=client_ip(request))
    name = (application.case_number or str(pk)).replace(" ", "-")
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="grannar-{name}.csv"'
    return response
