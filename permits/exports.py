"""Cases as an exportable layer (geodata's exporter writes it in every format and CRS).

A case leaves with its location (the pin, a point), property, type, status, dates,
decision and fee. The applicant's name and contact details leave only in an export
limited to one municipality, made by someone who holds a staff role there; every export
is recorded (geodata's ExportRun) with who, what and which filter.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
from django.utils.translation import gettext as _

from geodata.errors import InvalidInput
from geodata.exports import Column, Layer, register
from geodata.models import Municipality
from permits.models import Application, CaseType
from permits.selectors.casework import roles_by_municipality
from permits.workflow import Status

# Only our own table's name is put into the SQL.
KOMMUNKOD_SQL = (f"(SELECT m.kommunkod FROM {Municipality._meta.db_table} m "  # noqa: S608
                 "WHERE m.id = t.municipality_id)")


def _plain(name: str, arrow_type: pa.DataType) -> Column:
    return Column(name, arrow_type, {"postgresql": f"t.{name}", "sqlite": f"t.{name}"})


PUBLIC = (
    _plain("case_number", pa.string()),
    Column("kommunkod", pa.string(), {"postgresql": KOMMUNKOD_SQL, "sqlite": KOMMUNKOD_SQL}),
    _plain("case_type", pa.string()), _plain("measure", pa.string()),
    _plain("status", pa.string()), _plain("property_designation", pa.string()),
    _plain("building_area_m2", pa.float64()),
    _plain("received_on", pa.date32()), _plain("complete_on", pa.date32()),
    _plain("deadline", pa.date32()), _plain("extended_weeks", pa.int16()),
    _plain("decided_on", pa.date32()), _plain("outcome", pa.string()),
    _plain("notified_on", pa.date32()), _plain("fee_sek", pa.int32()),
    _plain("fee_reduction_fifths", pa.int16()),
)
PERSONAL = (_plain("contact_name", pa.string()), _plain("contact_email", pa.string()),
            _plain("contact_phone", pa.string()))


def may_see_personal_data(user: Any, kommunkod: str | None) -> bool:
    """Whether an export for ``user`` limited to ``kommunkod`` may carry applicants' names
    and contact details: only for someone holding a staff role in that municipality."""
    if not kommunkod or not getattr(user, "is_authenticated", False):
        return False
    municipality = Municipality.objects.filter(kommunkod=kommunkod).first()
    return municipality is not None and bool(
        roles_by_municipality(user).get(municipality.pk))


def _day(value: Any, name: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(_("%(name)s is not a date (YYYY-MM-DD).") % {"name": name}) from None


def cases_layer(user: Any, filters: dict[str, Any]) -> Layer:
    """The cases layer for ``user``, limited by its own filters: ``status`` and
    ``case_type`` (lists of codes), ``received_from`` and ``received_to`` (dates)."""
    where: list[tuple[str, tuple[Any, ...]]] = [
        ("t.status <> %s", (Status.DRAFT.value,)), ("t.location IS NOT NULL", ())]
    statuses = [s for s in filters.get("status") or [] if s in Status.values]
    if statuses:
        where.append((f"t.status IN ({', '.join(['%s'] * len(statuses))})", tuple(statuses)))
    types = [t for t in filters.get("case_type") or [] if t in CaseType.values]
    if types:
        where.append((f"t.case_type IN ({', '.join(['%s'] * len(types))})", tuple(types)))
    if filters.get("received_from"):
        where.append(("t.received_on >= %s", (_day(filters["received_from"],
                                                     "received_from"),)))
    if filters.get("received_to"):
        where.append(("t.received_on <= %s", (_day(filters["received_to"],
                                                     "received_to"),)))
    personal = may_see_personal_data(user, filters.get("kommunkod"))
    return Layer(name="cases", table=str(Application._meta.db_table),
                 columns=PUBLIC + (PERSONAL if personal else ()),
                 geometry_type="Point", municipality_column=None,
                 geometry_column="location", municipality_sql=KOMMUNKOD_SQL,
                 where=tuple(where))


def register_exports() -> None:
    """Offer the cases layer to geodata's exporter (called once, at start-up)."""
    register("cases", cases_layer)
