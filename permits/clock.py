"""The PBL clock: when a case's time limit ends, how late a decision is, and the fee
reduction that follows (plan- och bygglagen 9 kap. 27 §, 12 kap. 8 a §). Pure: dates in,
dates and numbers out; table-tested in tests/permits/test_clock.py.

- Lov (bygglov, rivningslov, marklov, tidsbegränsat lov) and förhandsbesked: a decision
  within 10 weeks of a complete application; anmälan (start notices, Attefall): 4 weeks.
- The committee may order completion (föreläggande). Ordered within 3 weeks of receipt,
  the limit runs from the day the application is complete; ordered later (or never), it
  runs from receipt.
- One extension, of at most the same length again (10 or 4 weeks), decided and told to
  the applicant before the first limit passes.
- The last day: Lag (1930:173) om beräkning av lagstadgad tid. A limit that ends on a
  Saturday, a Sunday, a public holiday, midsummer eve, Christmas Eve or New Year's Eve
  ends on the next weekday that is none of those.
- The fee drops by one fifth for every started week a decision comes after the limit
  (so nothing is left five weeks late). Shore protection exemptions (DI) are decided under
  the Environmental Code and have no PBL limit.

Pure but for the translation of its error messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from django.utils.translation import gettext as _

LOV_WEEKS = 10
ANMALAN_WEEKS = 4
COMPLETION_WINDOW = timedelta(weeks=3)
WEEKS = {"BL": LOV_WEEKS, "RL": LOV_WEEKS, "MARK": LOV_WEEKS, "TIDS": LOV_WEEKS,
         "FÖRF": LOV_WEEKS, "ANM": ANMALAN_WEEKS, "ATTANM": ANMALAN_WEEKS}


class ClockError(ValueError):
    """A date or an extension that the law does not allow; the message says why."""


def easter(year: int) -> date:
    """Return Easter Sunday of a year (the Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


@cache
def days_off(year: int) -> frozenset[date]:
    """Return the days of a year on which no time limit ends, weekends aside: the public
    holidays (lag 1989:253) and midsummer eve, Christmas Eve and New Year's Eve."""
    sunday = easter(year)
    midsummer_day = next(date(year, 6, d) for d in range(20, 27)
                         if date(year, 6, d).weekday() == 5)
    all_saints = next(date(year, m, d) for m, d in ((10, 31), (11, 1), (11, 2), (11, 3),
                                                      (11, 4), (11, 5), (11, 6))
                      if date(year, m, d).weekday() == 5)
    return frozenset({
        date(year, 1, 1), date(year, 1, 6),  # nyårsdagen, trettondedag jul
        sunday - timedelta(days=2), sunday, sunday + timedelta(days=1),  # påsk
        date(year, 5, 1), sunday + timedelta(days=39),  # första maj, Kristi himmelsfärd
        sunday + timedelta(days=49), date(year, 6, 6),  # pingstdagen, nationaldagen
        midsummer_day - timedelta(days=1), midsummer_day, all_saints,
        date(year, 12, 24), date(year, 12, 25), date(year, 12, 26), date(year, 12, 31),
    })


def is_day_off(day: date) -> bool:
    """Return True if a time limit cannot end on this day."""
    return day.weekday() >= 5 or day in days_off(day.year)


def last_day(day: date) -> date:
    """Move the last day of a limit off weekends and holidays, to the next weekday."""
    while is_day_off(day):
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class Clock:
    """Where a case stands against its time limit."""

    weeks: int | None  # the statutory limit (None: the case type has none)
    starts: date | None  # the day the limit runs from (None: not yet, still incomplete)
    deadline: date | None  # the last day for a decision, extension included
    first_deadline: date | None  # the last day before any extension
    extended_weeks: int

    def days_left(self, today: date) -> int | None:
        """Days to the deadline (negative: past it), or None without one."""
        return None if self.deadline is None else (self.deadline - today).days

    def weeks_late(self, on: date) -> int:
        """Started weeks past the deadline on a day (0 if in time or without a limit)."""
        if self.deadline is None or on <= self.deadline:
            return 0
        return -(-(on - self.deadline).days // 7)

    def reduction_fifths(self, decided: date) -> int:
        """Fifths of the fee that fall away for a decision on that day (PBL 12:8 a)."""
        return min(5, self.weeks_late(decided))


def limit_starts(received: date, completion_requested: date | None,
                 complete: date | None) -> date | None:
    """Return the day the limit runs from: receipt, unless completion was ordered within
    three weeks of it; then the day the application was complete (None until it is)."""
    if completion_requested is not None and completion_requested < received:
        raise ClockError(_("Completion cannot be requested before the application came in."))
    if completion_requested is None or completion_requested > received + COMPLETION_WINDOW:
        return received
    if complete is not None and complete < completion_requested:
        raise ClockError(_("An application ordered to be completed is complete after the order."))
    return complete


def case_clock(case_type: str, received: date, completion_requested: date | None = None,
               complete: date | None = None, extended_weeks: int = 0) -> Clock:
    """Return a case's clock from its dates (the first completion order counts)."""
    weeks = WEEKS.get(case_type)
    if weeks is None:
        return Clock(None, None, None, None, 0)
    if not 0 <= extended_weeks <= weeks:
        raise ClockError(_("An extension is at most %(weeks)d weeks.") % {"weeks": weeks})
    starts = limit_starts(received, completion_requested, complete)
    if starts is None:
        return Clock(weeks, None, None, None, extended_weeks)
    first = last_day(starts + timedelta(weeks=weeks))
    deadline = last_day(starts + timedelta(weeks=weeks + extended_weeks)) if (
        extended_weeks) else first
    return Clock(weeks, starts, deadline, first, extended_weeks)


def check_extension(clock: Clock, weeks: int, decided: date) -> None:
    """Refuse an extension the law does not allow: a second one, one longer than the
    limit itself, or one decided after the first deadline has passed."""
    if clock.weeks is None:
        raise ClockError(_("This case type has no statutory time limit to extend."))
    if clock.extended_weeks:
        raise ClockError(_("The time limit may be extended once only."))
    if not 1 <= weeks <= clock.weeks:
        raise ClockError(_("An extension is 1 to %(weeks)d weeks.") % {"weeks": clock.weeks})
    if clock.first_deadline is None:
        raise ClockError(_("The time limit has not started: the application is not complete."))
    if decided > clock.first_deadline:
        raise ClockError(_("The time limit ended on %(day)s; it can no longer be extended.")
                         % {"day": f"{clock.first_deadline:%Y-%m-%d}"})


def reduced_fee(fee_sek: int, fifths: int) -> int:
    """The fee after the reduction of ``fifths`` fifths (whole kronor)."""
    if not 0 <= fifths <= 5:
        raise ClockError(_("A reduction is 0 to 5 fifths."))
    return fee_sek * (5 - fifths) // 5
