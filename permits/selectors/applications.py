"""Read-only queries of permit data."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from permits.models import Application
from permits.selectors.casework import cases_for_staff, is_staff_member

GIS_GROUP = "gis"


def is_officer(user: AbstractBaseUser) -> bool:
    """Return True if the user works on cases (a staff role in some municipality)."""
    return is_staff_member(user)


def applications_for_officer(user: AbstractBaseUser) -> QuerySet[Application]:
    """Return the sent applications of the municipalities where the user holds a role."""
    return cases_for_staff(user)


def applications_for_applicant(user: AbstractBaseUser) -> QuerySet[Application]:
    """Return an applicant's own applications."""
    return Application.objects.filter(applicant_id=user.pk).select_related("municipality")


def service_statistics() -> dict[str, object]:
    """Return the e-service's open statistics: applications by case type and month, and
    the applicants' ratings. Aggregates only: nothing that identifies anyone."""
    from django.db.models import Avg, Count
    from django.db.models.functions import TruncMonth

    from permits.models import Feedback

    sent = Application.objects.exclude(status="draft")
    by_type = {row["case_type"]: row["n"] for row in
               sent.values("case_type").annotate(n=Count("id")).order_by("case_type")}
    by_month = [{"month": row["month"].strftime("%Y-%m"), "applications": row["n"]}
                for row in sent.annotate(month=TruncMonth("submitted_at"))
                .values("month").annotate(n=Count("id")).order_by("month") if row["month"]]
    ratings = Feedback.objects.aggregate(n=Count("id"), average=Avg("rating"))
    distribution = {str(r["rating"]): r["n"] for r in Feedback.objects.values("rating")
                    .annotate(n=Count("id")).order_by("rating")}
    return {"applications": sent.count(), "by_case_type": by_type, "by_month": by_month,
            "feedback": {"answers": ratings["n"],
                         "average_rating": round(ratings["average"], 2)
                         if ratings["average"] is not None else None,
                         "distribution": distribution}}
