"""The local stack's event-source emulation: schedule expressions and filter patterns."""

from datetime import UTC, datetime

from devstack.workers import matches, next_fire


def test_rate_and_cron_expressions():
    at = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)  # a Wednesday
    assert next_fire("rate(5 minutes)", at) == datetime(2026, 11, 25, 12, 35, tzinfo=UTC)
    assert next_fire("cron(0 12 * * ? *)", at) == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    # EventBridge counts weekdays 1-7 from Sunday: 2 is Monday.
    assert next_fire("cron(0 9 ? * 2 *)", at) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert next_fire("cron(0 9 ? * MON-FRI *)", at) == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_filter_patterns_as_the_relay_uses_them():
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["Event"]}}}}
    insert_event = {"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "Event"}}}}
    assert matches(pattern, insert_event)
    assert not matches(pattern, {**insert_event, "eventName": "MODIFY"})
    assert not matches(pattern, {"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "Client"}}}})
    assert not matches(pattern, {"eventName": "REMOVE", "dynamodb": {}})
