"""Money as integer minor units plus an ISO 4217 currency. Never floats.

Arithmetic between currencies is an error, not a conversion: the provider invoices each
service in the currency of its price.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class Currency(StrEnum):
    ARS = "ARS"
    USD = "USD"


# ISO 4217 minor-unit exponents of the currencies we bill in.
MINOR_UNITS: dict[Currency, int] = {Currency.ARS: 2, Currency.USD: 2}


class CurrencyMismatch(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units (centavos / cents)
    currency: Currency

    def __post_init__(self):
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")
        object.__setattr__(self, "currency", Currency(self.currency))

    @classmethod
    def zero(cls, currency: Currency | str) -> "Money":
        return cls(0, Currency(currency))

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: Currency | str) -> "Money":
        """Major units (e.g. Decimal('150.00')) to Money, rounding half-up to the minor unit."""
        currency = Currency(currency)
        scale = Decimal(10) ** MINOR_UNITS[currency]
        minor = (Decimal(value) * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return cls(int(minor), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-MINOR_UNITS[self.currency])

    def _same(self, other: "Money") -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __lt__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount <= other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def scale(self, numerator: int, denominator: int) -> "Money":
        """self × numerator ÷ denominator, exact until one half-up rounding to the minor unit."""
        if denominator <= 0:
            raise ValueError("denominator must be positive")
        value = Decimal(self.amount) * Decimal(numerator) / Decimal(denominator)
        return Money(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), self.currency)

    def display(self) -> str:
        """es-AR presentation: thousands with '.', decimals with ',' (e.g. 'ARS 1.234,50')."""
        sign = "-" if self.amount < 0 else ""
        digits = MINOR_UNITS[self.currency]
        whole, frac = divmod(abs(self.amount), 10**digits)
        whole_text = f"{whole:,}".replace(",", ".")
        return f"{sign}{self.currency.value} {whole_text},{frac:0{digits}d}"


def total(items: list[Money], currency: Currency | str) -> Money:
    result = Money.zero(currency)
    for item in items:
        result = result + item
    return result
