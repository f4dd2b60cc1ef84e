"""Feature requests through the real handlers: an account proposes (and so votes), others vote once each — also
all at once —, staff merge a duplicate (its votes move, one per account) and change the status, and every voting
account is told once, even when the notice is delivered twice."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.dal.outbox import EventRecord
from shared.dal.table import TableItem
from tests.integration.conftest import claims_for
from tests.integration.flows import feature_notices, relay

STAFF = claims_for(staff=True, sub="staff-features")
IDEA = {"title": "Exportar facturas a Excel", "description": "Poder bajar todas las facturas del año en un Excel."}


@pytest.fixture
def accounts(api, catalog):
    def account(n):
        made = api.call("POST", "/clients", body={"email": f"cliente{n}@ejemplo.com.ar", "password": "Segura123",
                                                  "name": f"Cliente {n}"})
        return claims_for(client_id=made.json()["client_id"], sub=f"sub-{n}")

    return [account(n) for n in range(4)]


def _notices():
    return sorted(e.client_id for e in TableItem.scan()
                  if isinstance(e, EventRecord) and e.type == "feature_request.status_notice")


def test_an_account_proposes_others_vote_once_and_each_sees_whether_it_voted(api, accounts):
    first, second = accounts[0], accounts[1]
    made = api.call("POST", "/me/feature-requests", claims=first, body=IDEA)
    assert made.status == 201 and (made.json()["votes"], made.json()["voted"]) == (1, True), made
    request_id = made.json()["request_id"]
    assert api.call("GET", "/me/feature-requests", claims=second).json()[0]["voted"] is False
    voted = api.call("POST", f"/me/feature-requests/{request_id}/vote", claims=second, body={})
    again = api.call("POST", f"/me/feature-requests/{request_id}/vote", claims=second, body={})
    assert voted.json()["votes"] == 2
    assert (again.status, again.json()["code"]) == (409, "already_voted")
    (listed,) = api.call("GET", "/me/feature-requests", claims=second).json()
    assert (listed["votes"], listed["voted"]) == (2, True)


def test_votes_at_once_count_one_per_account(api, accounts):
    request_id = api.call("POST", "/me/feature-requests", claims=accounts[0], body=IDEA).json()["request_id"]
    path = f"/me/feature-requests/{request_id}/vote"
    with ThreadPoolExecutor(8) as pool:  # the same account eight times, and three other accounts, all at once
        answers = list(pool.map(lambda claims: api.call("POST", path, claims=claims, body={}).status,
                                [accounts[1]] * 8 + accounts[2:] + [accounts[0]]))
    assert sorted(answers).count(200) == 3 and all(s in (200, 409) for s in answers), answers
    (listed,) = api.call("GET", "/staff/feature-requests", claims=STAFF).json()
    assert listed["votes"] == 4  # the proposer's, and one from each of the three others


def test_a_merged_duplicates_votes_move_one_per_account_and_voters_are_told_once(api, stack, aws, accounts):
    a, b, c, d = accounts
    original = api.call("POST", "/me/feature-requests", claims=a, body=IDEA).json()["request_id"]
    duplicate = api.call("POST", "/me/feature-requests", claims=b, body={**IDEA, "title": "Facturas en Excel"}).json()
    api.call("POST", f"/me/feature-requests/{duplicate['request_id']}/vote", claims=a, body={})  # a voted for both
    api.call("POST", f"/me/feature-requests/{duplicate['request_id']}/vote", claims=c, body={})

    merged = api.call("POST", f"/staff/feature-requests/{duplicate['request_id']}/merge", claims=STAFF,
                      body={"into_request_id": original})
    assert merged.status == 200 and merged.json()["votes"] == 3, merged  # a, b, c: a once
    listed = api.call("GET", "/me/feature-requests", claims=b).json()
    assert [(r["request_id"], r["voted"]) for r in listed] == [(original, True)]  # the duplicate is gone for clients
    closed = api.call("POST", f"/me/feature-requests/{duplicate['request_id']}/vote", claims=d, body={})
    assert (closed.status, closed.json()["code"]) == (409, "voting_closed")

    planned = api.call("POST", f"/staff/feature-requests/{original}/status", claims=STAFF,
                       body={"status": "planned", "public_note": "Lo sumamos para marzo."})
    assert planned.json()["public_note"] == "Lo sumamos para marzo."
    relay(stack, aws)
    records, result = feature_notices(stack)
    assert len(records) == 1 and result == {"batchItemFailures": []}
    voters = sorted(claims["custom:client_id"] for claims in (a, b, c))
    assert _notices() == voters
    from devstack.runtime import Runtime  # the same notice delivered again tells nobody twice

    assert Runtime(stack).invoke("FeatureNoticesFunction", {"Records": records}) == {"batchItemFailures": []}
    assert _notices() == voters
    notice = next(json.loads(e.payload) for e in TableItem.scan()
                  if isinstance(e, EventRecord) and e.type == "feature_request.status_notice")
    assert (notice["status"], notice["title"]) == ("planned", IDEA["title"])


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/me/feature-requests", {"title": "x", "description": "Muy corto el título."}, 422, "validation_error"),
    ("/me/feature-requests", {**IDEA, "extra": True}, 422, "validation_error"),
    ("/me/feature-requests/01KBV3ZQ7N6C8R3Y1XQ6K2M9T4/vote", {}, 404, "not_found"),
])
def test_bad_requests_change_nothing(api, accounts, path, body, status, code):
    answer = api.call("POST", path, claims=accounts[0], body=body)
    assert (answer.status, answer.json()["code"]) == (status, code), answer
    assert api.call("GET", "/staff/feature-requests", claims=STAFF).json() == []
