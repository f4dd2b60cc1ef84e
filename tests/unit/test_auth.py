import pytest

from shared.auth import Identity, Permission, Role, authorize, identity_from_claims
from shared.errors import Forbidden, NotFound, Unauthenticated


def test_identity_comes_from_claims_only():
    holder = identity_from_claims({"sub": "s", "token_use": "id", "custom:client_id": "C1"})
    contact = identity_from_claims({"sub": "s", "custom:client_id": "C1", "custom:contact_id": "K1"})
    assert (holder.role, holder.client_id) == (Role.HOLDER, "C1")
    assert (contact.role, contact.contact_id) == (Role.CONTACT, "K1")


# The REST API's Cognito authorizer passes the token's groups as one string: "staff", or "admins,staff".
@pytest.mark.parametrize("groups", ["staff", "admins,staff", "staff,admins"])
def test_staff_is_the_staff_group_among_the_groups_api_gateway_passes(groups):
    assert identity_from_claims({"sub": "s", "cognito:groups": groups}).role is Role.STAFF


@pytest.mark.parametrize("groups", ["[staff]", "[staff, admins]", "admins, staff", " staff", "Staff", "staffers",
                                    "staff-readonly", "", ["staff"]])
def test_a_group_only_named_like_staff_is_not_staff(groups):
    with pytest.raises(Forbidden):  # no account either: the login is refused
        identity_from_claims({"sub": "s", "cognito:groups": groups})


@pytest.mark.parametrize(
    "claims", [None, {}, {"sub": ""}, {"sub": "s", "token_use": "access", "custom:client_id": "C"}]
)
def test_missing_or_wrong_tokens_are_unauthenticated(claims):
    with pytest.raises(Unauthenticated):
        identity_from_claims(claims)


def test_a_login_without_account_is_forbidden():
    with pytest.raises(Forbidden):
        identity_from_claims({"sub": "s"})


def _never(*_):
    raise AssertionError("permissions are only looked up for contacts")


def test_holder_and_staff_may_everything_without_lookups():
    holder = Identity("s", None, Role.HOLDER, "C1")
    staff = Identity("t", None, Role.STAFF, None)
    for permission in Permission:
        authorize(holder, "C1", permission, _never)
        authorize(staff, "ANY", permission, _never)


def test_other_accounts_are_not_found_not_forbidden():
    with pytest.raises(NotFound):
        authorize(Identity("s", None, Role.HOLDER, "C1"), "C2", Permission.SERVICES, _never)


def test_contacts_get_exactly_their_permissions():
    contact = Identity("s", None, Role.CONTACT, "C1", "K1")
    granted = {"K1": {"invoices"}}

    def load(client_id, contact_id):
        return granted.get(contact_id)

    authorize(contact, "C1", Permission.INVOICES, load)
    with pytest.raises(Forbidden) as refused:
        authorize(contact, "C1", Permission.SERVICES, load)
    assert "ver los servicios" in refused.value.message
    granted.clear()
    with pytest.raises(Forbidden) as revoked:
        authorize(contact, "C1", Permission.INVOICES, load)
    assert revoked.value.code == "contact_revoked"


def _token(payload: dict) -> str:
    import base64
    import json

    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(payload)}.c2lnbmF0dXJl"


@pytest.mark.parametrize(("groups", "staff"), [(["staff"], True), (["ops", "staff"], True), (["ops,staff"], False),
                                               (["[staff]"], False), ([], False), ("staff", False)])
def test_staff_groups_are_read_from_the_verified_tokens_own_list(groups, staff):
    """API Gateway joins a list claim with commas, so a group named "ops,staff" looked like two groups; the
    token the authorizer verified holds the real list."""
    claims = {"sub": "s", "token_use": "id", "custom:client_id": "C1", "cognito:groups": "ops,staff"}
    token = _token({"sub": "s", "cognito:groups": groups})

    identity = identity_from_claims(claims, f"Bearer {token}")

    assert (identity.role is Role.STAFF) is staff


def test_a_token_of_someone_else_than_the_claims_is_refused():
    with pytest.raises(Unauthenticated):
        identity_from_claims({"sub": "s", "custom:client_id": "C1"},
                             _token({"sub": "other", "cognito:groups": ["staff"]}))


def test_a_token_in_the_header_cannot_add_a_group_the_verified_claims_lack():
    claims = {"sub": "s", "token_use": "id", "custom:client_id": "C1", "cognito:groups": "ops"}
    identity = identity_from_claims(claims, _token({"sub": "s", "cognito:groups": ["ops", "staff"]}))
    assert identity.role is Role.HOLDER


def test_acting_on_another_account_takes_the_membership_of_this_very_login():
    from shared.auth import NotAMember, acting_on

    holder = identity_from_claims({"sub": "s", "token_use": "id", "email": "Bruno@x.com", "custom:client_id": "C1"})
    memberships = {("bruno@x.com", "C2"): ("s", "K2"), ("bruno@x.com", "C3"): (None, "K3"),
                   ("bruno@x.com", "C4"): ("another-sub", "K4")}
    looked = []

    def load(email, client_id):
        looked.append(client_id)
        return memberships.get((email, client_id))

    assert acting_on(holder, None, load) is holder and acting_on(holder, "C1", load) is holder and not looked
    there = acting_on(holder, "C2", load)
    assert (there.role, there.client_id, there.contact_id, there.subject) == (Role.CONTACT, "C2", "K2", "s")
    for pending_or_not_mine in ("C3", "C4", "C9"):  # accepted by nobody yet, another login's, none at all
        with pytest.raises(NotAMember):
            acting_on(holder, pending_or_not_mine, load)
    staff = identity_from_claims({"sub": "t", "cognito:groups": "staff"})
    assert acting_on(staff, "C2", load) is staff
