"""Fees: the table (taxa) in force when a case was received, and what it charges."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from geodata.models import Municipality
from permits.exceptions import InvalidCasework
from permits.models import FeeRow, FeeTable

log = logging.getLogger(__name__)


def fee_table_in_force(municipality: Municipality | None, on: date) -> FeeTable | None:
    """Return the municipality's fee table in force on a day, or None without one."""
    if municipality is None:
        return None
    return FeeTable.objects.filter(municipality=municipality, valid_from__lte=on).order_by(
        "-valid_from").first()


def price_base_amount(year: int) -> int:
    """The price base amount (prisbasbelopp) of a year, in kronor."""
    amounts = settings.LOVKARTA_PRISBASBELOPP
    if year in amounts:
        return int(amounts[year])
    raise InvalidCasework(_("No price base amount is set for %(year)d "
                            "(LOVKARTA_PRISBASBELOPP).") % {"year": year})


def fee_row(table: FeeTable, case_type: str, area_m2: float | None) -> FeeRow | None:
    """The row of a table for a case type and size (no size: the smallest band)."""
    size = area_m2 or 0.0
    for row in table.rows.filter(case_type=case_type).order_by("area_from_m2"):
        if row.area_from_m2 <= size and (row.area_to_m2 is None or size < row.area_to_m2):
            return row
    return None


def fee_for(table: FeeTable | None, case_type: str, area_m2: float | None,
            year: int) -> int | None:
    """The fee in whole kronor by a table, or None if the table has no row for it."""
    if table is None:
        return None
    row = fee_row(table, case_type, area_m2)
    return None if row is None else row_fee(row, year)


def row_fee(row: FeeRow, year: int) -> int:
    """The fee in whole kronor of a table's row in a year (its factor of the year's price
    base amount)."""
    amount = row.factor * Decimal(price_base_amount(year))
    return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def fee_estimate(table: FeeTable | None, case_type: str, area_m2: float | None,
                 year: int) -> int | None:
    """``fee_for`` for an estimate: None (and a log line) where the price base amount of
    the year is not configured, so that an applicant is never stopped by it."""
    row = fee_row(table, case_type, area_m2) if table is not None else None
    return None if row is None else _row_estimate(row, year)


def _row_estimate(row: FeeRow, year: int) -> int | None:
    """``row_fee`` for an estimate: None (and a log line) where the price base amount of
    the year is not configured."""
    try:
        return row_fee(row, year)
    except InvalidCasework as exc:
        log.error("fee estimate: %s", exc)
        return None


@dataclass(frozen=True)
class FeeQuote:
    """What an applicant would be charged if the application were received today."""

    fee_sek: int
    municipality: str
    table: str
    band: str  # the size band charged, e.g. "50–200 m²" (empty for every size)


def fee_quote(municipality: Municipality | None, case_type: str, area_m2: float | None,
              on: date) -> FeeQuote | None:
    """The estimate an applicant sees before sending: the table in force today of the
    property's municipality; None where there is no table, row or price base amount."""
    table = fee_table_in_force(municipality, on)
    row = fee_row(table, case_type, area_m2) if table is not None else None
    fee = None if row is None else _row_estimate(row, on.year)
    if table is None or row is None or fee is None or municipality is None:
        return None
    band = ""
    if row.area_from_m2 or row.area_to_m2 is not None:
        upper = f"{row.area_to_m2:g}" if row.area_to_m2 is not None else "…"
        band = f"{row.area_from_m2:g}–{upper} m²"
    return FeeQuote(fee, municipality.name, table.name, band)
