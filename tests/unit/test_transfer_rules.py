"""When a change of holder needs staff's verification call: the accounts' data differ much."""

import pytest
from transfers.logic import differences

from shared.dal.accounts import Client


def _client(name, company=None, tax_id=None, country="AR"):
    return Client("CLIENT#x", "CLIENT", client_id="x", email="x@ejemplo.com.ar", name=name, company=company,
                  tax_id=tax_id, country=country, created_at="", updated_at="")


@pytest.mark.parametrize("source, target, reasons", [
    (_client("Ana Pérez", tax_id="20-12345678-6"), _client("Ana Pérez", tax_id="20123456786"), []),
    (_client("Ana Pérez"), _client("Pérez Hermanos SA"), []),  # a word in common, no tax ids to compare
    (_client("José Núñez"), _client("Jose Nunez"), []),  # accents and case do not make names differ
    (_client("Ana Pérez", tax_id="20123456786"), _client("Ana Pérez", tax_id="27987654321"), ["tax_id"]),
    (_client("Ana Pérez"), _client("Ana Pérez", country="UY"), ["country"]),
    (_client("Ana Pérez"), _client("Bruno Gómez"), ["name"]),
    # A CUIT anyone can copy from an invoice spares no call when the names have nothing in common.
    (_client("Ana Pérez", tax_id="20123456786"), _client("Bruno Gómez", tax_id="20123456786"), ["name"]),
    (_client("Al Li"), _client("Al Li"), ["name"]),  # words of fewer than 3 letters prove nothing
])
def test_the_accounts_differ_much_when_tax_ids_countries_or_names_do(source, target, reasons):
    assert differences(source, target) == reasons
