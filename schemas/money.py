"""Money in ISO 4217 minor units, exactly. No floats: decimals are parsed with `Decimal`.

Each provider speaks its own dialect: Stripe sends integers in its own convention (zero-decimal
list, ISK ×100, MGA as zero-decimal), PayPal sends decimal strings, Adyen integers with ISO
exponents, Square integer minor units. All become ISO minor units or raise AmountNotExact.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from schemas.errors import AmountNotExact

# ISO 4217 currencies whose minor unit is not 2 (all others, including unknown codes, are 2).
_ISO_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}

# Larger amounts than any real payment, and enough to refuse exponent tricks like "1e999999999".
_MAX_DIGITS = 40

# Stripe's zero-decimal currencies (its docs); MGA is here though ISO gives it 2.
_STRIPE_ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
# Stripe sends these ×100 of ISO's unit although ISO gives them 0 decimals.
_STRIPE_TWO_DECIMAL_OVER_ISO = frozenset({"ISK"})


def exponent(currency: str) -> int:
    """The ISO 4217 minor-unit exponent of `currency` (upper case)."""
    return _ISO_EXPONENTS.get(currency, 2)


def normalize_currency(code: object) -> str:
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha():
        raise AmountNotExact("The currency is not a three-letter ISO 4217 code.")
    return code.upper()


def decimal_to_minor(value: str | int | Decimal, currency: str) -> int:
    """A decimal amount in major units (`"10.99"`) as exact ISO minor units (1099).

    Integer arithmetic on the decimal's digits: no context precision, so nothing is ever rounded.
    """
    if isinstance(value, float | bool):
        raise AmountNotExact("Amounts must be given as decimal strings or integers, never floats.")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise AmountNotExact("The amount is not a decimal number.") from exc
    if not amount.is_finite():
        raise AmountNotExact("The amount is not a finite number.")
    sign, digits, exp = amount.as_tuple()
    assert isinstance(exp, int)  # finite decimals have an integer exponent
    if len(digits) > _MAX_DIGITS or not -_MAX_DIGITS <= exp <= _MAX_DIGITS:
        raise AmountNotExact("The amount is out of the range paypipe accepts.")
    coefficient = int("".join(map(str, digits)))
    shift = exp + exponent(currency)
    if shift >= 0:
        minor: int = coefficient * 10**shift
    else:
        minor, remainder = divmod(coefficient, 10 ** (-shift))
        if remainder:
            raise AmountNotExact(
                f"The amount has more decimals than {currency} allows ({exponent(currency)})."
            )
    return -minor if sign else minor


def integer_minor(value: object) -> int:
    """An integer amount as sent (Adyen, Square); refuses floats, bools and strings."""
    if type(value) is not int:
        raise AmountNotExact("The amount is not an integer of minor units.")
    return value


def stripe_to_minor(value: object, currency: str) -> int:
    """A Stripe amount (Stripe's own minor-unit convention) as ISO minor units."""
    amount = integer_minor(value)
    iso = exponent(currency)
    stripe_exp = 0 if currency in _STRIPE_ZERO_DECIMAL else 2 + (1 if iso == 3 else 0)
    if currency in _STRIPE_TWO_DECIMAL_OVER_ISO:
        stripe_exp = 2
    shift = iso - stripe_exp
    if shift >= 0:
        return int(amount * pow(10, shift))
    quotient, remainder = divmod(amount, pow(10, -shift))
    if remainder:
        raise AmountNotExact(f"The Stripe amount is not a whole number of {currency} minor units.")
    return int(quotient)
