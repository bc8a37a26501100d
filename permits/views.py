"""Views: parse, call a service or selector, render."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from permits import maps
from permits.exceptions import InvalidApplication
from permits.forms import ApplicationForm
from permits.selectors import applications_for_applicant, applications_for_officer, is_officer
from permits.services import ApplicationInput, application_submit

PIN_FIELDS = {"lat": "id_lat", "lon": "id_lon", "parcel": "id_parcel",
              "designation": "property-designation"}


def home(request: HttpRequest) -> HttpResponse:
    """Show what each kind of user can do."""
    mine = applications_for_applicant(request.user)[:20] if request.user.is_authenticated else []
    return render(request, "permits/home.html", {
        "is_officer": is_officer(request.user), "applications": mine})


@login_required
def application_new(request: HttpRequest) -> HttpResponse:
    """Show the application form beside the map; store it when submitted."""
    if request.method == "POST":
        form = ApplicationForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                application = application_submit(request.user, ApplicationInput(
                    case_type=d["case_type"], measure=d["measure"],
                    description=d["description"], lon=d["lon"], lat=d["lat"],
                    submission_key=d["submission_key"]))
            except InvalidApplication as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("permits:application", pk=application.pk)
    else:
        form = ApplicationForm(initial={"submission_key": uuid.uuid4()})
    return render(request, "permits/application_form.html", {
        "form": form, "map": maps.pin_map(PIN_FIELDS)})


@login_required
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one application to its applicant or an officer (others get 404)."""
    if is_officer(request.user):
        application = get_object_or_404(applications_for_officer(request.user), pk=pk)
    else:
        application = get_object_or_404(applications_for_applicant(request.user), pk=pk)
    return render(request, "permits/application_detail.html", {"application": application})


@login_required
def officer_applications(request: HttpRequest) -> HttpResponse:
    """List the applications on a map and in a table, for planning officers."""
    if not is_officer(request.user):
        raise PermissionDenied
    applications = list(applications_for_officer(request.user)[:500])
    return render(request, "permits/officer_applications.html", {
        "applications": applications, "map": maps.applications_map(applications)})
