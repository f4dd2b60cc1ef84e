import json

from shared.errors import ConcurrentModification, Conflict, DomainError, InvalidInput, NotFound
from shared.http import status_for, validation_response
from shared.ids import is_valid_id, new_id


def test_status_map_follows_the_class_hierarchy():
    class EmailTakenLike(Conflict):
        pass

    assert status_for(EmailTakenLike()) == 409
    assert status_for(ConcurrentModification()) == 409
    assert status_for(NotFound()) == 404
    assert status_for(InvalidInput()) == 422
    assert status_for(DomainError()) == 400


def test_validation_response_names_fields_in_spanish():
    response = validation_response([
        {"type": "missing", "loc": ("body", "email"), "msg": "Field required"},
        {"type": "string_too_short", "loc": ("body", "password"), "msg": "short"},
    ])
    body = json.loads(response.body)
    assert response.status_code == 422
    assert body["message"] == "El campo 'email' es obligatorio."
    assert [e["field"] for e in body["errors"]] == ["email", "password"]


def test_malformed_json_is_a_400():
    response = validation_response([{"type": "json_invalid", "loc": ("body", 3), "msg": "JSON decode error"}])
    assert (response.status_code, json.loads(response.body)["code"]) == (400, "malformed_json")


def test_ids_sort_by_time_and_do_not_collide():
    earlier, later = new_id(1_700_000_000_000), new_id(1_700_000_000_001)
    assert earlier < later
    assert len({new_id() for _ in range(10_000)}) == 10_000
    assert is_valid_id(earlier) and not is_valid_id("nope")
