"""Backups and termination against the loopback WHM: the newest backup holding an account, and a
termination that can be delivered again without failing or removing twice."""

from datetime import date, timedelta

import pytest

from devstack.fake_whm import FakeWhm
from functions.activation import cpanel

TOKEN = "unit-whm-token"


@pytest.fixture
def whm():
    fake = FakeWhm(TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def api(whm):
    return cpanel.WhmApi(whm.url, TOKEN, timeout_s=5)


def _create(api, user="ana", domain="ana.com.ar"):
    api.call("createacct", username=user, domain=domain, plan="inicial", password="x", contactemail="a@b.ar")


def test_no_backup_is_none(api):
    assert cpanel.last_backup_on(api, "nadie") is None


def test_another_accounts_backups_do_not_count(api, whm):
    whm.add_backup("otro", date(2024, 5, 1))
    assert cpanel.last_backup_on(api, "ana") is None


def test_newest_of_the_dates_holding_the_account(api, whm):
    whm.add_backup("ana", date(2024, 3, 1))
    whm.add_backup("ana", date(2024, 3, 8))
    whm.add_backup("otro", date(2024, 3, 15))  # newer, but without ana
    assert cpanel.last_backup_on(api, "ana") == date(2024, 3, 8)


def test_an_account_on_the_server_without_that_days_backup_is_skipped(api, whm):
    # backup_user_list lists it as "no_backup" on a date whose set holds only other accounts.
    _create(api)
    whm.backups["ana"].clear()
    whm.add_backup("ana", date(2024, 1, 1))
    whm.add_backup("otro", date(2024, 2, 1))
    assert cpanel.last_backup_on(api, "ana") == date(2024, 1, 1)


def test_creation_records_a_backup_that_outlives_removal(api, whm):
    _create(api)
    cpanel.terminate(api, "ana")
    assert "ana" not in whm.accounts
    assert cpanel.last_backup_on(api, "ana") == date.today()


def test_whm_errors_propagate(api, whm):
    whm.add_backup("ana", date.today() - timedelta(days=1))
    whm.fail_next(1)
    with pytest.raises(cpanel.ProvisioningError):
        cpanel.last_backup_on(api, "ana")


def test_terminate_again_neither_fails_nor_removes_twice(api, whm):
    _create(api)
    cpanel.terminate(api, "ana")
    cpanel.terminate(api, "ana")  # a redelivered command
    assert whm.calls_to("removeacct", "ana") == 1
    assert [params for name, params in whm.calls if name == "removeacct"] == [{"api.version": "1",
                                                                              "username": "ana"}]


def test_terminate_of_an_account_never_there_calls_no_removeacct(api, whm):
    cpanel.terminate(api, "nadie")
    assert whm.calls_to("removeacct") == 0


def test_terminate_when_whm_cannot_be_asked_raises(api, whm):
    # An outage must not read as "already removed": the command is retried instead.
    _create(api)
    whm.fail_next(1)
    with pytest.raises(cpanel.ProvisioningError):
        cpanel.terminate(api, "ana")
    assert "ana" in whm.accounts and whm.calls_to("removeacct") == 0


def test_terminate_whose_removal_failed_but_happened_returns(api, whm, monkeypatch):
    # removeacct's answer lost after it worked (a timeout): the check that follows finds the account gone.
    _create(api)
    real_call = api.call

    def call(function, **params):
        answer = real_call(function, **params)
        if function == "removeacct":
            raise cpanel.ProvisioningError("WHM no respondió a removeacct: timed out")
        return answer

    monkeypatch.setattr(api, "call", call)
    cpanel.terminate(api, "ana")
    assert "ana" not in whm.accounts and whm.calls_to("removeacct") == 1


def test_terminate_whose_removal_failed_raises_while_the_account_is_there(api, whm, monkeypatch):
    _create(api)
    real_call = api.call

    def call(function, **params):
        if function == "removeacct":
            raise cpanel.ProvisioningError("WHM removeacct: busy")
        return real_call(function, **params)

    monkeypatch.setattr(api, "call", call)
    with pytest.raises(cpanel.ProvisioningError, match="busy"):
        cpanel.terminate(api, "ana")
    assert "ana" in whm.accounts
