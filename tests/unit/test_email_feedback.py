"""SES's bounce and complaint events, in the shapes SES publishes them, read into the addresses to stop."""

import json

from email_feedback.worker import event_of, suppressions

from devstack.mailbox import feedback_event


def test_a_permanent_bounce_and_a_complaint_stop_their_addresses_a_transient_bounce_does_not():
    assert suppressions(feedback_event("bounce", "a@x.com")) == [
        ("a@x.com", "bounce", "General: 5.1.1 smtp; 550 5.1.1 user unknown", "local-permanent")]
    assert suppressions(feedback_event("complaint", "b@x.com")) == [("b@x.com", "complaint", "abuse",
                                                                      "local-complaint")]
    assert suppressions(feedback_event("bounce", "c@x.com", "Transient")) == []
    assert suppressions({"eventType": "Delivery", "delivery": {"recipients": ["d@x.com"]}}) == []
    assert suppressions({}) == []


def test_the_sns_envelope_and_the_identity_notification_shape_are_read_too():
    event = feedback_event("bounce", "a@x.com")
    envelope = {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                "Message": json.dumps(event)}
    assert event_of(json.dumps(envelope)) == event
    assert event_of(json.dumps(event)) == event
    assert event_of("[1, 2]") == {}
    identity_style = {**event, "notificationType": "Bounce"}
    del identity_style["eventType"]
    assert suppressions(identity_style)[0][0] == "a@x.com"
