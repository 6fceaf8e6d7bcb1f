"""Unit conversion tables and the conversion itself (pure).

Each unit belongs to one dimension and has a factor to that dimension's base unit;
temperature, which is affine, converts through kelvin. Names are matched case-insensitively
with common spellings and plurals ("km", "kilometre", "kilometers").
"""

from __future__ import annotations

from typing import Final

from mcp_agent_otel.errors import InputError

# dimension -> unit -> factor to the base unit (the unit with factor 1)
_FACTORS: Final[dict[str, dict[str, float]]] = {
    "length": {
        "m": 1.0,
        "km": 1000.0,
        "cm": 0.01,
        "mm": 0.001,
        "um": 1e-6,
        "nm": 1e-9,
        "mi": 1609.344,
        "yd": 0.9144,
        "ft": 0.3048,
        "in": 0.0254,
        "nmi": 1852.0,
    },
    "mass": {
        "kg": 1.0,
        "g": 0.001,
        "mg": 1e-6,
        "t": 1000.0,
        "lb": 0.45359237,
        "oz": 0.028349523125,
        "st": 6.35029318,
    },
    "time": {
        "s": 1.0,
        "ms": 0.001,
        "us": 1e-6,
        "ns": 1e-9,
        "min": 60.0,
        "h": 3600.0,
        "day": 86400.0,
        "week": 604800.0,
        "year": 31_557_600.0,  # Julian year, 365.25 days
    },
    "data": {
        "b": 1.0,
        "bit": 0.125,
        "kb": 1e3,
        "mb": 1e6,
        "gb": 1e9,
        "tb": 1e12,
        "kib": 1024.0,
        "mib": 1024.0**2,
        "gib": 1024.0**3,
        "tib": 1024.0**4,
    },
    "volume": {
        "l": 1.0,
        "ml": 0.001,
        "m3": 1000.0,
        "gal": 3.785411784,
        "qt": 0.946352946,
        "pt": 0.473176473,
        "cup": 0.2365882365,
        "floz": 0.0295735295625,
    },
    "speed": {
        "m/s": 1.0,
        "km/h": 1000.0 / 3600.0,
        "mph": 1609.344 / 3600.0,
        "kn": 1852.0 / 3600.0,
        "ft/s": 0.3048,
    },
    "area": {
        "m2": 1.0,
        "km2": 1e6,
        "cm2": 1e-4,
        "ha": 1e4,
        "acre": 4046.8564224,
        "ft2": 0.09290304,
    },
}
TEMPERATURE: Final = ("c", "f", "k")

_ALIASES: Final[dict[str, str]] = {
    # length
    "meter": "m", "metre": "m", "kilometer": "km", "kilometre": "km", "centimeter": "cm",
    "centimetre": "cm", "millimeter": "mm", "millimetre": "mm", "micrometer": "um",
    "micron": "um", "µm": "um", "nanometer": "nm", "mile": "mi", "yard": "yd", "foot": "ft",
    "feet": "ft", "inch": "in", "inches": "in", "nautical mile": "nmi",
    # mass
    "kilogram": "kg", "kilo": "kg", "gram": "g", "milligram": "mg", "tonne": "t", "ton": "t",
    "metric ton": "t", "pound": "lb", "lbs": "lb", "ounce": "oz", "stone": "st",
    # time
    "second": "s", "sec": "s", "millisecond": "ms", "microsecond": "us", "µs": "us",
    "nanosecond": "ns", "minute": "min", "hour": "h", "hr": "h", "d": "day", "wk": "week",
    "yr": "year",
    # data
    "byte": "b", "bits": "bit", "kilobyte": "kb", "megabyte": "mb", "gigabyte": "gb",
    "terabyte": "tb", "kibibyte": "kib", "mebibyte": "mib", "gibibyte": "gib",
    "tebibyte": "tib",
    # volume
    "liter": "l", "litre": "l", "milliliter": "ml", "millilitre": "ml", "cubic meter": "m3",
    "gallon": "gal", "quart": "qt", "pint": "pt", "fluid ounce": "floz", "fl oz": "floz",
    # speed
    "meters per second": "m/s", "mps": "m/s", "kph": "km/h", "kmh": "km/h",
    "kilometers per hour": "km/h", "miles per hour": "mph", "knot": "kn", "kt": "kn",
    # area
    "square meter": "m2", "sqm": "m2", "square kilometer": "km2", "hectare": "ha",
    "square foot": "ft2", "square feet": "ft2", "sqft": "ft2",
    # temperature
    "celsius": "c", "°c": "c", "centigrade": "c", "fahrenheit": "f", "°f": "f", "kelvin": "k",
}  # fmt: skip

UNIT_DIMENSION: Final = {unit: dim for dim, units in _FACTORS.items() for unit in units} | {
    u: "temperature" for u in TEMPERATURE
}


class UnitError(InputError):
    """A unit is unknown, or two units measure different things; the message says which."""


def canonical_unit(name: str) -> str:
    """The table's spelling of unit ``name``; ``UnitError`` if unknown."""
    key = " ".join(name.strip().lower().split())
    if key in UNIT_DIMENSION:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    for suffix in ("es", "s"):  # plurals: "meters", "inches", "hours"
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            stem = key[: -len(suffix)]
            if stem in _ALIASES:
                return _ALIASES[stem]
            if stem in UNIT_DIMENSION and len(stem) > 2:
                return stem
    known = ", ".join(sorted(UNIT_DIMENSION))
    raise UnitError(f"unknown unit {name!r}; known units: {known}")


def _to_kelvin(value: float, unit: str) -> float:
    return {"c": value + 273.15, "f": (value - 32.0) * 5.0 / 9.0 + 273.15, "k": value}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"c": value - 273.15, "f": (value - 273.15) * 9.0 / 5.0 + 32.0, "k": value}[unit]


def convert(value: float, from_unit: str, to_unit: str) -> tuple[float, str, str, str]:
    """``value`` in ``to_unit``; returns (result, canonical from, canonical to, dimension)."""
    source, target = canonical_unit(from_unit), canonical_unit(to_unit)
    dimension, other = UNIT_DIMENSION[source], UNIT_DIMENSION[target]
    if dimension != other:
        raise UnitError(
            f"cannot convert {from_unit!r} to {to_unit!r}: {source} measures {dimension}, "
            f"{target} measures {other}"
        )
    if dimension == "temperature":
        kelvin = _to_kelvin(value, source)
        if kelvin < -1e-9:  # float noise at exactly absolute zero is not below it
            raise UnitError(f"{value} {source.upper()} is below absolute zero")
        return _from_kelvin(kelvin, target), source, target, dimension
    factors = _FACTORS[dimension]
    return value * factors[source] / factors[target], source, target, dimension
