"""Phone numbers: parsed and normalised to E.164 with libphonenumber (``phonenumbers``).

Argentine mobiles are stored in their international mobile form, +54 9 <area> <number>: that is
what libphonenumber yields for a mobile whether the person typed "011 15 2345-6789",
"+54 9 11 2345-6789" or "11 2345 6789" with the 15 prefix. WhatsApp only reaches mobiles, so with
WhatsApp alerts on, a number that is not a mobile is refused.
"""

from shared.errors import InvalidInput

DEFAULT_REGION = "AR"


def normalise_phone(raw: str, *, require_mobile: bool, region: str = DEFAULT_REGION) -> str:
    # Imported on first use: most requests of the accounts function carry no phone.
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberType

    mobile_types = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        raise InvalidInput("El teléfono no es un número válido.", code="invalid_phone", field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            "El teléfono no es un número válido. Incluya el código de área (ej.: +54 9 11 2345-6789).",
            code="invalid_phone",
            field="phone",
        )
    if require_mobile and phonenumbers.number_type(number) not in mobile_types:
        raise InvalidInput(
            "Para recibir alertas por WhatsApp el teléfono debe ser un celular "
            "(en Argentina: +54 9, código de área y número).",
            code="phone_not_mobile",
            field="phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_for_alerts(raw: str | None, whatsapp_opt_in: bool) -> str | None:
    """The phone to store for someone who does (or does not) want WhatsApp alerts: required and a mobile
    when they do."""
    if raw is None or raw == "":
        if whatsapp_opt_in:
            raise InvalidInput(
                "Para recibir alertas por WhatsApp cargue su número de celular.",
                code="phone_required",
                field="phone",
            )
        return None
    return normalise_phone(raw, require_mobile=whatsapp_opt_in)
