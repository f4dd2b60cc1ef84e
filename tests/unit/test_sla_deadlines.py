"""Business time and the help centre's SLA deadlines (shared/calendar.py, shared/sla.py, tools/sla.py), on dates
whose holidays are known: 2026-12-07 is a bridge day and 2026-12-08 a holiday (Monday and Tuesday), 2026-12-25
and 2027-01-01 are Fridays."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.calendar import add_business_minutes, add_whole_business_days, business_minutes_between
from shared.sla import (
    Priority,
    SlaClass,
    SupportPlan,
    effective_priority,
    first_response_due,
    first_response_target,
    resolution_due,
)

BA = ZoneInfo("America/Argentina/Buenos_Aires")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BA)


@pytest.mark.parametrize(("start", "minutes", "due"), [
    ("2026-12-02 11:00", 60, "2026-12-02 12:00"),  # a Wednesday, within the day
    ("2026-12-02 16:30", 60, "2026-12-03 10:30"),  # over the night
    ("2026-12-02 08:00", 30, "2026-12-02 10:30"),  # before opening: counts from 10:00
    ("2026-12-02 18:00", 0, "2026-12-03 10:00"),  # after closing: the next opening
    ("2026-12-04 15:00", 8 * 60, "2026-12-09 16:00"),  # Friday, then the bridge day and the holiday
    ("2026-12-05 11:00", 15, "2026-12-09 10:15"),  # a Saturday before them
    ("2026-12-24 16:00", 120, "2026-12-28 11:00"),  # Christmas Friday
    ("2026-12-31 16:50", 20, "2027-01-04 10:10"),  # year end: New Year's Friday, then the weekend
])
def test_business_minutes_count_only_weekday_business_hours_outside_holidays(start, minutes, due):
    assert add_business_minutes(at(start), minutes) == at(due)


def test_a_closed_day_is_skipped_like_a_holiday_and_utc_input_is_read_in_buenos_aires():
    assert add_business_minutes(at("2026-12-02 16:00"), 120, frozenset({date(2026, 12, 3)})) == at("2026-12-04 11:00")
    assert add_business_minutes(datetime(2026, 12, 2, 13, 0, tzinfo=UTC), 60) == at("2026-12-02 11:00")


def test_business_minutes_between_is_the_inverse_and_ignores_nights_weekends_and_holidays():
    start = at("2026-12-04 15:00")
    for minutes in (0, 1, 119, 120, 121, 420, 481, 2000):
        assert business_minutes_between(start, add_business_minutes(start, minutes)) == minutes
    assert business_minutes_between(at("2026-12-05 00:00"), at("2026-12-08 23:59")) == 0  # weekend, bridge, holiday
    assert business_minutes_between(at("2026-12-10 12:00"), at("2026-12-09 12:00")) == 0


@pytest.mark.parametrize(("start", "due"), [
    ("2026-12-02 11:00", "2026-12-04 11:00"),  # Wednesday -> Friday
    ("2026-12-03 15:00", "2026-12-09 15:00"),  # Thursday: Friday, then past the weekend, bridge day and holiday
    ("2026-12-05 11:00", "2026-12-11 00:00"),  # a Saturday: counted from the next open day's start
    ("2026-12-23 20:00", "2026-12-28 20:00"),  # over Christmas Friday
])
def test_48_business_hours_are_two_whole_business_days(start, due):
    assert add_whole_business_days(at(start), 2) == at(due)
    assert resolution_due(at(start)) == at(due)


@pytest.mark.parametrize(("plan", "priority", "sla_class", "start", "due"), [
    (SupportPlan.STANDARD, Priority.P3, SlaClass.ADVICE, "2026-12-02 11:00", "2026-12-03 12:00"),  # 8 business h
    (SupportPlan.PROFESIONAL, Priority.P3, SlaClass.ADVICE, "2026-12-02 16:00", "2026-12-03 11:00"),  # 2 business h
    (SupportPlan.FULL, Priority.P3, SlaClass.ADVICE, "2026-12-02 16:50", "2026-12-03 10:05"),  # 15 business min
    (SupportPlan.FULL, Priority.P1, SlaClass.ERROR_REPORT, "2026-12-05 03:00", "2026-12-05 03:30"),  # 24x7
    (SupportPlan.STANDARD, Priority.P3, SlaClass.WEB_AND_SOFTWARE, "2026-12-02 16:00", "2026-12-03 11:00"),  # 2 h
    (SupportPlan.FULL, Priority.P3, SlaClass.WEB_AND_SOFTWARE, "2026-12-02 11:00", "2026-12-02 11:15"),  # Full's
    # Received on a Saturday, counted in business time: 7 h on Wednesday (after the bridge day and the holiday),
    # the eighth on Thursday.
    (SupportPlan.STANDARD, Priority.P2, SlaClass.MAINTENANCE, "2026-12-05 11:00", "2026-12-10 11:00"),
])
def test_first_response_by_plan_priority_and_class(plan, priority, sla_class, start, due):
    assert first_response_due(at(start), plan, priority, sla_class) == at(due)


def test_sla4_counts_around_the_clock_only_with_a_contract():
    night = at("2026-12-02 22:00")
    assert first_response_due(night, SupportPlan.STANDARD, Priority.P3, SlaClass.WEB_AND_SOFTWARE) == at(
        "2026-12-03 12:00")
    assert first_response_due(night, SupportPlan.STANDARD, Priority.P3, SlaClass.WEB_AND_SOFTWARE,
                              contract_around_the_clock=True) == night + timedelta(hours=2)
    assert first_response_target(SupportPlan.PROFESIONAL, Priority.P2, SlaClass.ADVICE).around_the_clock is False


@pytest.mark.parametrize(("plan", "production", "expected"), [
    (SupportPlan.FULL, True, Priority.P1),
    (SupportPlan.FULL, False, Priority.P2),
    (SupportPlan.PROFESIONAL, True, Priority.P2),
    (SupportPlan.STANDARD, True, Priority.P2),
])
def test_p1_needs_a_full_plan_and_a_production_service(plan, production, expected):
    priority, note = effective_priority(Priority.P1, plan, production)
    assert priority is expected
    assert (note is None) == (expected is Priority.P1)
    assert effective_priority(Priority.P3, plan, production) == (Priority.P3, None)


def test_the_sla_tool_prints_the_deadlines_the_rules_give(capsys):
    from tools.sla import main

    assert main(["--plan", "standard", "--class", "SLA1", "--at", "2026-12-04T15:00:00-03:00"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["first_response_due: 2026-12-09 16:00 Buenos Aires (2026-12-09T19:00Z)",
                       "resolution_due: 2026-12-10 15:00 Buenos Aires (2026-12-10T18:00Z)"]
    main(["--plan", "profesional", "--priority", "P1", "--at", "2026-12-05T11:00:00-03:00", "--production",
          "--closed", "2026-12-09"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("La prioridad P1")
    assert printed[1] == "first_response_due: 2026-12-10 12:00 Buenos Aires (2026-12-10T15:00Z)"


def test_a_paused_clock_does_not_count_the_time_waiting_on_the_client():
    from shared.sla import Target

    eight_hours = Target(8 * 60, around_the_clock=False)
    start = at("2026-12-02 11:00")  # Wednesday: due Thursday 12:00 without pauses
    assert eight_hours.due_with_pauses(start, []) == at("2026-12-03 12:00")
    # Waiting on the client from Wednesday 15:00 (4 business hours used) until Friday 10:00: 4 left from then.
    pauses = [(at("2026-12-02 15:00"), at("2026-12-04 10:00"))]
    assert eight_hours.due_with_pauses(start, pauses) == at("2026-12-04 14:00")
    assert eight_hours.due_with_pauses(start, [(at("2026-12-02 15:00"), None)]) is None  # still waiting
    # A pause after the deadline passed changes nothing: the breach stands.
    assert eight_hours.due_with_pauses(start, [(at("2026-12-03 13:00"), at("2026-12-04 10:00"))]) == at(
        "2026-12-03 12:00")
    # Two pauses: 1 h used before the first, 7 h left from Wednesday 14:00 (due Thursday 14:00); the second
    # begins on Friday, after that: it changes nothing. A second one on Thursday 11:00 over the bridge day and
    # the holiday leaves 3 h from Wednesday the 9th, 10:00.
    two = [(at("2026-12-02 12:00"), at("2026-12-02 14:00")), (at("2026-12-04 10:00"), at("2026-12-09 10:00"))]
    assert eight_hours.due_with_pauses(start, two) == at("2026-12-03 14:00")
    over = [(at("2026-12-02 12:00"), at("2026-12-02 14:00")), (at("2026-12-03 11:00"), at("2026-12-09 10:00"))]
    assert eight_hours.due_with_pauses(start, over) == at("2026-12-09 13:00")
    around = Target(30, around_the_clock=True)
    assert around.due_with_pauses(at("2026-12-05 03:00"), [(at("2026-12-05 03:10"), at("2026-12-05 09:00"))]) == at(
        "2026-12-05 09:20")


def test_a_reclassification_recomputes_the_deadline_from_the_same_start_and_pauses():
    start, pauses = at("2026-12-02 16:00"), [(at("2026-12-02 16:30"), at("2026-12-03 10:00"))]
    standard = first_response_target(SupportPlan.STANDARD, Priority.P3, SlaClass.ADVICE)
    web = first_response_target(SupportPlan.STANDARD, Priority.P3, SlaClass.WEB_AND_SOFTWARE)
    assert standard.due_with_pauses(start, pauses) == at("2026-12-04 10:30")  # 30 min, then 7h30 from Thu 10:00
    assert web.due_with_pauses(start, pauses) == at("2026-12-03 11:30")  # SLA4: 2 h in all
