import pytest

from shared.errors import InvalidInput
from shared.phones import normalise_phone


@pytest.mark.parametrize("typed", ["011 15 2345-6789", "+54 9 11 2345-6789", "+5491123456789", "(011) 15-2345-6789"])
def test_argentine_mobiles_are_stored_with_the_9(typed):
    assert normalise_phone(typed, require_mobile=True) == "+5491123456789"


def test_landlines_are_kept_but_refused_for_whatsapp():
    assert normalise_phone("+54 11 4345-6789", require_mobile=False) == "+541143456789"
    with pytest.raises(InvalidInput) as refused:
        normalise_phone("+54 11 4345-6789", require_mobile=True)
    assert refused.value.code == "phone_not_mobile" and refused.value.field == "phone"


@pytest.mark.parametrize("typed", ["123", "hola", "+54 9 11 23"])
def test_invalid_numbers_are_refused(typed):
    with pytest.raises(InvalidInput):
        normalise_phone(typed, require_mobile=False)


def test_cuit_check_digit_and_dni():
    from accounts.schemas import _tax_id_ok

    assert _tax_id_ok("20-12345678-6") == "20123456786"
    assert _tax_id_ok("30-71234567-1") == "30712345671"
    assert _tax_id_ok("12.345.678") == "12345678"
    for wrong in ("20-12345678-1", "123", "20-1234567a-6"):
        with pytest.raises(ValueError):
            _tax_id_ok(wrong)
