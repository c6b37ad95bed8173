"""Quantities and amounts as records state them, brought to one unit for counting.

A seizure may be reported in grams, kilograms, tonnes or quintals (India's
figures use the quintal, 100 kg), in tablets, or in litres; an estimated value
may be written in units, lakh (10^5) or crore (10^7) of its currency. The
indicators add these up, so they are normalised here with :class:`~decimal.Decimal`
arithmetic: 0.1 + 0.2 must be 0.3 when a country's totals are compared year on year.

The unit and scale names are those of ``schemas/record/v1.json``
(``$defs/quantity`` and ``$defs/money``); a test keeps the two in step.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext

__all__ = [
    "AMOUNT_SCALES",
    "MASS_UNITS",
    "QUANTITY_UNITS",
    "UnitError",
    "UnknownScaleError",
    "UnknownUnitError",
    "normalise_amount",
    "normalise_quantity",
]

# Power of ten that takes each mass unit to kilograms. Quintal is the metric
# quintal of Indian reporting, 100 kg (not the 100 lb US hundredweight).
_MASS_TO_KG_EXPONENT: dict[str, int] = {"g": -3, "kg": 0, "quintal": 2, "tonne": 3}

# Units that are counted or measured as they are: there is no sound conversion
# from tablets or litres to kilograms without knowing the substance.
_UNCONVERTED_UNITS: tuple[str, ...] = ("tablets", "litre")

_SCALE_EXPONENT: dict[str, int] = {"unit": 0, "lakh": 5, "crore": 7}

MASS_UNITS: tuple[str, ...] = tuple(_MASS_TO_KG_EXPONENT)
QUANTITY_UNITS: tuple[str, ...] = ("kg", "g", "tonne", "quintal", "tablets", "litre")
AMOUNT_SCALES: tuple[str, ...] = tuple(_SCALE_EXPONENT)


class UnitError(ValueError):
    """A quantity or amount cannot be normalised."""


class UnknownUnitError(UnitError):
    """The unit of a quantity is not one silkline records use."""

    def __init__(self, unit: object) -> None:
        self.unit = unit
        super().__init__(
            f"unknown quantity unit {unit!r}; accepted units: {', '.join(QUANTITY_UNITS)}"
        )


class UnknownScaleError(UnitError):
    """The scale of an amount is not one silkline records use."""

    def __init__(self, scale: object) -> None:
        self.scale = scale
        super().__init__(
            f"unknown amount scale {scale!r}; accepted scales: {', '.join(AMOUNT_SCALES)}"
        )


def normalise_quantity(value: float | Decimal, unit: str) -> tuple[Decimal, str]:
    """``value`` in ``unit`` as (value, unit) in kilograms, tablets or litres.

    Masses become kilograms (g / 1000, quintal * 100, tonne * 1000); tablets
    and litres are returned unchanged. Raises :class:`UnknownUnitError` naming
    the accepted units, and :class:`UnitError` for a value that is not a
    finite number.
    """
    exact = _to_decimal(value)
    if unit in _MASS_TO_KG_EXPONENT:
        return _shift(exact, _MASS_TO_KG_EXPONENT[unit]), "kg"
    if unit in _UNCONVERTED_UNITS:
        return exact, unit
    raise UnknownUnitError(unit)


def normalise_amount(amount: float | Decimal, scale: str | None = "unit") -> Decimal:
    """``amount`` written in ``scale`` (unit, lakh = 10^5, crore = 10^7) as a plain number.

    ``None`` means the schema's default, "unit". Raises
    :class:`UnknownScaleError` naming the accepted scales, and
    :class:`UnitError` for an amount that is not a finite number.
    """
    exact = _to_decimal(amount)
    key = "unit" if scale is None else scale
    if key not in _SCALE_EXPONENT:
        raise UnknownScaleError(scale)
    return _shift(exact, _SCALE_EXPONENT[key])


def _to_decimal(value: float | Decimal) -> Decimal:
    # bool is an int to Python but never a quantity; a float goes through its
    # shortest repr so that 1.84 becomes Decimal("1.84"), not 1.8400000000000000799...
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise UnitError(f"quantity must be a number, got {value!r}")
    try:
        exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    except InvalidOperation as error:  # pragma: no cover - repr of an int or float always parses
        raise UnitError(f"quantity must be a number, got {value!r}") from error
    if not exact.is_finite():
        raise UnitError(f"quantity must be finite, got {value!r}")
    return exact


def _shift(value: Decimal, exponent: int) -> Decimal:
    """``value * 10**exponent`` without rounding, written without an exponent when integral."""
    with localcontext() as context:
        # scaleb moves the decimal point and keeps every digit, provided the
        # context is precise enough to hold them all.
        context.prec = max(context.prec, len(value.as_tuple().digits) + abs(exponent) + 1)
        shifted = value.scaleb(exponent)
        exponent_after = shifted.as_tuple().exponent
        if isinstance(exponent_after, int) and exponent_after > 0:
            # 1.61E+11 and 161000000000 are equal, but reports print the latter.
            shifted = shifted.quantize(Decimal(1))
        return shifted
