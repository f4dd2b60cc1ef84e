"""make dev's test clock: SystemClock's process-wide shift, the durations and instants POST /local/clock
takes, and the Scheduler firing what came due after a move (once each, never twice)."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from devstack import workers
from devstack.cfn import Function, Stack
from devstack.stack import LocalStack
from devstack.workers import ClockBackwards, ClockInputError, Scheduler, parse_duration, parse_instant
from shared.clock import SystemClock, reset_system_clock, shift_system_clock, system_clock_shift


@pytest.fixture(autouse=True)
def real_time():
    """Every test starts and ends on the real time: the shift is process-wide, other tests must not see it."""
    reset_system_clock()
    yield
    reset_system_clock()


class FakeRuntime:
    def __init__(self, fail: tuple[str, ...] = (), delay_s: float = 0.0):
        self.calls: list[tuple[str, dict]] = []
        self.fail, self.delay_s = fail, delay_s
        self._lock = threading.Lock()

    def invoke(self, logical_id: str, event: dict) -> dict:
        time.sleep(self.delay_s)
        with self._lock:
            self.calls.append((logical_id, event))
        if logical_id in self.fail:
            raise RuntimeError("boom")
        return {"ran": logical_id}


def _stack(**schedules: str) -> Stack:
    """One function per schedule: {logical id: expression}."""
    functions = {
        name: Function(name, "m.h", {}, {"Tick": {"Type": "Schedule", "Properties": {"Schedule": expression}}})
        for name, expression in schedules.items()
    }
    functions["OffFunction"] = Function("OffFunction", "m.h", {}, {
        "Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)", "Enabled": False}}})
    return Stack(name="t", region="us-east-1", functions=functions)


# --- what POST /local/clock accepts -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("P14D", timedelta(days=14)),
    ("P2W", timedelta(weeks=2)),
    ("PT6H", timedelta(hours=6)),
    ("PT30M", timedelta(minutes=30)),
    ("PT45S", timedelta(seconds=45)),
    ("P1DT2H", timedelta(days=1, hours=2)),
    ("P1W2DT3H4M5S", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
    (" p1dt2h ", timedelta(days=1, hours=2)),
    ("PT0S", timedelta(0)),
])
def test_durations_of_weeks_days_hours_minutes_seconds(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "14D", "P1.5D", "P-1D", "PT1H2D", "P1D2W", "1 day",
                                  "P1DT2H3", 14, None, ["P1D"]])
def test_malformed_durations_are_refused(text):
    with pytest.raises(ClockInputError, match="ISO-8601"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["P1Y", "P2M", "P1Y2M3D", "P1MT2H"])
def test_years_and_months_are_refused_saying_so(text):
    with pytest.raises(ClockInputError, match="no admite años ni meses"):
        parse_duration(text)


def test_a_duration_beyond_what_a_timedelta_holds_is_refused_not_a_crash():
    with pytest.raises(ClockInputError, match="5 años"):
        parse_duration("P9999999999D")


def test_instants_need_their_offset():
    assert parse_instant("2027-01-01T03:00:00Z") == datetime(2027, 1, 1, 3, tzinfo=UTC)
    assert parse_instant("2027-01-01T00:00:00-03:00") == datetime(2027, 1, 1, 3, tzinfo=UTC)
    with pytest.raises(ClockInputError, match="zona horaria"):
        parse_instant("2027-01-01T03:00:00")
    for bad in ("mañana", "", 1767236400, None):
        with pytest.raises(ClockInputError, match="ISO-8601"):
            parse_instant(bad)


# --- SystemClock's shift -------------------------------------------------------------------------------------


def test_system_clock_is_the_real_time_plus_the_shift():
    assert system_clock_shift() == timedelta(0)
    assert abs(SystemClock().now() - datetime.now(UTC)) < timedelta(seconds=1)
    assert shift_system_clock(timedelta(days=14)) == timedelta(days=14)
    assert shift_system_clock(timedelta(hours=2)) == timedelta(days=14, hours=2)  # moves add up
    assert system_clock_shift() == timedelta(days=14, hours=2)
    ahead = SystemClock().now() - datetime.now(UTC)
    assert timedelta(days=14, hours=2) - timedelta(seconds=1) < ahead <= timedelta(days=14, hours=2)
    assert SystemClock().now().tzinfo is not None
    reset_system_clock()
    assert system_clock_shift() == timedelta(0)


# --- the Scheduler after a move ---------------------------------------------------------------------------------


def test_catch_up_fires_a_due_schedule_once_and_a_not_due_one_not_at_all():
    runtime = FakeRuntime()
    scheduler = Scheduler(runtime, _stack(DailyFunction="rate(1 day)", MonthlyFunction="rate(30 days)"))
    assert scheduler.catch_up() == [] and runtime.calls == []  # nothing is due at start

    shift_system_clock(timedelta(days=3))  # the daily one came due three times: it runs once
    assert scheduler.catch_up() == [{"schedule": "DailyFunction.Tick", "result": {"ran": "DailyFunction"}}]
    assert scheduler.catch_up() == []  # rescheduled from the new now
    assert [name for name, _ in runtime.calls] == ["DailyFunction"]
    event = runtime.calls[0][1]
    at = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert at > datetime.now(UTC) + timedelta(days=2)  # the event carries the clock's time, not the real one
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/DailyFunction.Tick"]
    assert scheduler.schedules["DailyFunction.Tick"][2] > SystemClock().now() + timedelta(hours=23)


def test_advance_fires_in_order_of_due_time_and_answers_where_it_moved():
    runtime = FakeRuntime()
    scheduler = Scheduler(runtime, _stack(AFunction="rate(3 days)", BFunction="rate(1 day)",
                                          CFunction="rate(30 days)"))
    before = SystemClock().now()
    moved_to, fired = scheduler.advance(by=timedelta(days=5))
    assert timedelta(days=5) <= moved_to - before < timedelta(days=5, seconds=1)
    assert [f["schedule"] for f in fired] == ["BFunction.Tick", "AFunction.Tick"]  # earliest due first
    assert [name for name, _ in runtime.calls] == ["BFunction", "AFunction"]

    target = moved_to + timedelta(days=40)
    moved_to, fired = scheduler.advance(to=target)
    assert moved_to == target
    assert [f["schedule"] for f in fired] == ["BFunction.Tick", "AFunction.Tick", "CFunction.Tick"]  # +1d, +3d, +30d


def test_the_clock_only_moves_forward_and_at_most_five_years_at_a_time():
    runtime = FakeRuntime()
    scheduler = Scheduler(runtime, _stack(DailyFunction="rate(1 day)"))
    scheduler.advance(by=timedelta(days=1))
    with pytest.raises(ClockBackwards, match="solo avanza"):
        scheduler.advance(to=SystemClock().now() - timedelta(hours=1))
    with pytest.raises(ClockInputError, match="5 años"):
        scheduler.advance(by=timedelta(days=6 * 365))
    assert system_clock_shift() == timedelta(days=1)  # a refused move moves nothing
    assert len(runtime.calls) == 1


def test_one_failing_schedule_does_not_keep_the_others_from_running():
    runtime = FakeRuntime(fail=("AFunction",))
    scheduler = Scheduler(runtime, _stack(AFunction="rate(1 day)", BFunction="rate(1 day)"))
    _, fired = scheduler.advance(by=timedelta(days=2))
    assert fired == [{"schedule": "AFunction.Tick", "error": "RuntimeError: boom"},
                     {"schedule": "BFunction.Tick", "result": {"ran": "BFunction"}}]


def test_the_poll_thread_and_a_move_never_fire_one_schedule_twice(monkeypatch):
    runtime = FakeRuntime()
    scheduler = Scheduler(runtime, _stack(DailyFunction="rate(1 day)"))
    real_next_fire = workers.next_fire

    def slow_next_fire(expression, after):
        time.sleep(0.05)  # between finding a schedule due and rescheduling it: where a race would fire it twice
        return real_next_fire(expression, after)

    monkeypatch.setattr(workers, "next_fire", slow_next_fire)
    shift_system_clock(timedelta(days=2))
    start = threading.Barrier(4)

    def catch_up():
        start.wait(timeout=5)
        scheduler.catch_up()

    def poll():
        start.wait(timeout=5)
        scheduler.poll_once()

    threads = [threading.Thread(target=catch_up) for _ in range(3)] + [threading.Thread(target=poll)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert [name for name, _ in runtime.calls] == ["DailyFunction"]


# --- the routes, without the rest of the stack ----------------------------------------------------------------


def _routes(runtime: FakeRuntime) -> LocalStack:
    stack = LocalStack.__new__(LocalStack)  # only what the clock routes use: no AWS, no HTTP server
    stack.scheduler = Scheduler(runtime, _stack(DailyFunction="rate(1 day)"))
    return stack


def _call(action, body) -> tuple[int, dict]:
    status, _, data = action("/local/clock", {}, body if isinstance(body, bytes) else json.dumps(body).encode())
    return status, json.loads(data)


def test_clock_routes_answer_the_documented_shapes():
    runtime = FakeRuntime()
    routes = _routes(runtime)
    status, state = _call(routes._clock, b"")
    assert status == 200 and state["shift_seconds"] == 0 and state["now"] == state["real_now"]

    status, moved = _call(routes._move_clock, {"advance": "P14D"})
    assert status == 200
    assert moved["fired"] == [{"schedule": "DailyFunction.Tick", "result": {"ran": "DailyFunction"}}]
    status, state = _call(routes._clock, b"")
    assert state["shift_seconds"] == 14 * 86400 and state["now"] >= moved["now"]

    status, moved = _call(routes._move_clock, {"now": "2000-01-01T00:00:00Z"})
    assert status == 409 and moved["code"] == "clock_backwards" and "solo avanza" in moved["message"]
    for bad in (b"not json", [], {}, {"advance": "P1D", "now": "2030-01-01T00:00:00Z"}, {"advance": "P1Y"},
                {"now": "2030-01-01T00:00:00"}, {"advance": "P3000D"}, {"later": "P1D"}):
        status, answer = _call(routes._move_clock, bad)
        assert status == 400 and answer["code"] == "invalid_input" and answer["message"], bad
    assert len(runtime.calls) == 1
