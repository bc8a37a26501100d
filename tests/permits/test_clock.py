"""The PBL clock, table-tested: deadlines, extensions, late completion orders, anmälan,
limits ending on holidays, and the fee reduction of a fifth per started week."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from permits.clock import (
    ClockError,
    case_clock,
    check_extension,
    days_off,
    easter,
    last_day,
    reduced_fee,
)

D = date


@pytest.mark.parametrize("case_type,received,ordered,complete,extended,deadline", [
    # 1. A complete application: 10 weeks from receipt (Mon 2 Mar 2026 -> Mon 11 May).
    ("BL", D(2026, 3, 2), None, None, 0, D(2026, 5, 11)),
    # 2. Completion ordered within three weeks: 10 weeks from the day it was complete.
    ("BL", D(2026, 3, 2), D(2026, 3, 16), D(2026, 4, 1), 0, D(2026, 6, 10)),
    # 3. Ordered on the last day of the three weeks still restarts the clock.
    ("BL", D(2026, 3, 2), D(2026, 3, 23), D(2026, 4, 1), 0, D(2026, 6, 10)),
    # 4. Ordered a day later: the limit runs from receipt.
    ("BL", D(2026, 3, 2), D(2026, 3, 24), D(2026, 4, 1), 0, D(2026, 5, 11)),
    # 5. Ordered in time, not yet complete: no deadline yet (the clock has not started).
    ("BL", D(2026, 3, 2), D(2026, 3, 9), None, 0, None),
    # 6. One extension of 10 weeks: 20 weeks from receipt (Mon 20 Jul 2026).
    ("BL", D(2026, 3, 2), None, None, 10, D(2026, 7, 20)),
    # 7. A shorter extension, 3 weeks.
    ("BL", D(2026, 3, 2), None, None, 3, D(2026, 6, 1)),
    # 8. Förhandsbesked: 10 weeks like a lov.
    ("FÖRF", D(2026, 9, 7), None, None, 0, D(2026, 11, 16)),
    # 9. Anmälan: 4 weeks.
    ("ANM", D(2026, 9, 7), None, None, 0, D(2026, 10, 5)),
    # 10. Anmälan with its one extension of 4 weeks.
    ("ANM", D(2026, 9, 7), None, None, 4, D(2026, 11, 2)),
    # 11. Attefall notification, completion ordered in time.
    ("ATTANM", D(2026, 9, 7), D(2026, 9, 14), D(2026, 9, 21), 0, D(2026, 10, 19)),
    # 12. Rivningslov and marklov run as bygglov.
    ("RL", D(2026, 1, 12), None, None, 0, D(2026, 3, 23)),
    ("MARK", D(2026, 1, 12), None, None, 0, D(2026, 3, 23)),
    # 13. Ends on a Saturday (received Sat 7 Feb 2026): the next Monday.
    ("BL", D(2026, 2, 7), None, None, 0, D(2026, 4, 20)),
    # 14. Ends on Good Friday 2027 (26 Mar, from Fri 15 Jan): past Easter Monday to Tue 30 Mar.
    ("BL", D(2027, 1, 15), None, None, 0, D(2027, 3, 30)),
    # 15. Ends on Christmas Eve 2026 (Thu, from Thu 15 Oct): past the holidays to Mon 28 Dec.
    ("BL", D(2026, 10, 15), None, None, 0, D(2026, 12, 28)),
    # 16. Ends on midsummer eve 2026 (Fri 19 Jun, from Fri 10 Apr): Monday 22 June.
    ("BL", D(2026, 4, 10), None, None, 0, D(2026, 6, 22)),
    # 17. Ends on Ascension Day 2026 (Thu 14 May, from Thu 5 Mar): Friday 15 May.
    ("BL", D(2026, 3, 5), None, None, 0, D(2026, 5, 15)),
    # 18. Ends on New Year's Eve 2026 (Thu): Friday 1 Jan is a holiday, so Mon 4 Jan 2027.
    ("BL", D(2026, 10, 22), None, None, 0, D(2027, 1, 4)),
    # 19. Ends on the national day 2027 (Sunday 6 June, from Sun 28 Mar): Mon 7 June.
    ("BL", D(2027, 3, 28), None, None, 0, D(2027, 6, 7)),
    # 20. Strandskyddsdispens: no PBL limit.
    ("DI", D(2026, 3, 2), None, None, 0, None),
])
def test_deadline(case_type, received, ordered, complete, extended, deadline):
    clock = case_clock(case_type, received, ordered, complete, extended)
    assert clock.deadline == deadline


@pytest.mark.parametrize("decided,weeks_late,fifths,fee_after", [
    (D(2026, 5, 8), 0, 0, 12_000),  # before the deadline (Mon 11 May 2026)
    (D(2026, 5, 11), 0, 0, 12_000),  # on the deadline: in time
    (D(2026, 5, 12), 1, 1, 9_600),  # one day late: a started week
    (D(2026, 5, 18), 1, 1, 9_600),  # seven days late: still the first week
    (D(2026, 5, 19), 2, 2, 7_200),  # eight days: the second week has started
    (D(2026, 6, 15), 5, 5, 0),  # five weeks late: nothing left
    (D(2026, 6, 22), 6, 5, 0),  # six weeks late: still nothing, never below zero
])
def test_fee_reduction_per_started_week(decided, weeks_late, fifths, fee_after):
    clock = case_clock("BL", D(2026, 3, 2))
    assert clock.weeks_late(decided) == weeks_late
    assert clock.reduction_fifths(decided) == fifths
    assert reduced_fee(12_000, fifths) == fee_after


def test_an_extension_counts_for_the_reduction():
    clock = case_clock("BL", D(2026, 3, 2), extended_weeks=10)
    assert clock.first_deadline == D(2026, 5, 11) and clock.deadline == D(2026, 7, 20)
    assert clock.reduction_fifths(D(2026, 7, 20)) == 0
    assert clock.reduction_fifths(D(2026, 7, 21)) == 1


def test_days_left_and_overdue():
    clock = case_clock("BL", D(2026, 3, 2))
    assert clock.days_left(D(2026, 5, 1)) == 10
    assert clock.days_left(D(2026, 5, 13)) == -2


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize("weeks,decided,already,message", [
    (11, D(2026, 4, 1), 0, "1 to 10 weeks"),
    (0, D(2026, 4, 1), 0, "1 to 10 weeks"),
    (5, D(2026, 5, 12), 0, "can no longer be extended"),  # after the first deadline
    (5, D(2026, 4, 1), 5, "once only"),
])
def test_an_extension_the_law_does_not_allow_is_refused(weeks, decided, already, message):
    clock = case_clock("BL", D(2026, 3, 2), extended_weeks=already)
    with pytest.raises(ClockError, match=message):
        check_extension(clock, weeks, decided)


def test_an_extension_on_the_deadline_day_is_allowed():
    check_extension(case_clock("BL", D(2026, 3, 2)), 10, D(2026, 5, 11))


def test_anmalan_extends_by_four_weeks_at_most():
    with pytest.raises(ClockError, match="1 to 4 weeks"):
        check_extension(case_clock("ANM", D(2026, 9, 7)), 5, D(2026, 9, 8))


def test_impossible_dates_are_refused():
    with pytest.raises(ClockError, match="before the application came in"):
        case_clock("BL", D(2026, 3, 2), D(2026, 3, 1), D(2026, 3, 5))
    with pytest.raises(ClockError, match="complete after the order"):
        case_clock("BL", D(2026, 3, 2), D(2026, 3, 9), D(2026, 3, 5))


@pytest.mark.parametrize("year,sunday", [(2024, D(2024, 3, 31)), (2025, D(2025, 4, 20)),
                                         (2026, D(2026, 4, 5)), (2027, D(2027, 3, 28)),
                                         (2038, D(2038, 4, 25))])
def test_easter(year, sunday):
    assert easter(year) == sunday


def test_the_days_off_of_2026():
    assert sorted(days_off(2026)) == [
        D(2026, 1, 1), D(2026, 1, 6), D(2026, 4, 3), D(2026, 4, 5), D(2026, 4, 6),
        D(2026, 5, 1), D(2026, 5, 14), D(2026, 5, 24), D(2026, 6, 6), D(2026, 6, 19),
        D(2026, 6, 20), D(2026, 10, 31), D(2026, 12, 24), D(2026, 12, 25), D(2026, 12, 26),
        D(2026, 12, 31)]


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 1)))
def test_a_limit_ends_on_a_working_day_within_a_week(day):
    end = last_day(day)
    assert end.weekday() < 5 and end not in days_off(end.year)
    assert 0 <= (end - day).days <= 6
