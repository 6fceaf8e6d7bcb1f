"""Time zones named in a text: IANA names, UTC/GMT, and city or country names, via the zone
database the interpreter already reads (``zoneinfo``).

``find_zones(text)`` gives ``(start, end, zone)`` for each zone a text names, in order:
"Tokyo" -> Asia/Tokyo, "New York" -> America/New_York, "Europe/Paris" as written, "UTC",
"Japan" -> Asia/Tokyo. Cities come from the zone names themselves (the last part of
``Region/City``); countries from the database's ``iso3166.tab`` and ``zone.tab`` (each
country's first listed zone, or for a few large countries the zone of their most populous
region). Names are matched as capitalized words, so "the center of the text" names nothing.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Final

# Countries with several zones whose first zone.tab line is not where most people live.
_COUNTRY_ZONE: Final = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "ID": "Asia/Jakarta",
    "KZ": "Asia/Almaty",
    "MX": "America/Mexico_City",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "US": "America/New_York",
}
# Everyday names iso3166.tab spells differently ("Britain (UK)", "Korea (South)").
_COUNTRY_ALIASES: Final = {
    "uk": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "usa": "US",
    "america": "US",
    "the us": "US",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "taiwan": "TW",
    "czechia": "CZ",
    "holland": "NL",
}
# Zone prefixes whose last part is not a place people name ("North_Dakota/Center").
_NOT_CITIES: Final = (
    "Etc/",
    "SystemV/",
    "posix/",
    "right/",
    "America/North_Dakota/",
    "America/Indiana/",
    "America/Kentucky/",
)
_UTC_NAMES: Final = {"utc": "UTC", "gmt": "GMT", "zulu": "UTC"}
_IANA_RE: Final = re.compile(
    r"\b(?:UTC|GMT)\b|\b[A-Z][A-Za-z-]+(?:_[A-Za-z-]+)*/[A-Z][A-Za-z_-]+(?:/[A-Z][A-Za-z_-]+)?\b"
)
_CAPITALIZED_RE: Final = re.compile(r"\b[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*){0,3}")
_MAX_WORDS: Final = 4


@functools.lru_cache(maxsize=1024)
def is_zone(name: str) -> bool:
    """Whether the zone database knows ``name`` (an IANA zone or a link to one)."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _tab_text(name: str) -> str:
    """A zone database table (``zone.tab``, ``iso3166.tab``) from the system's zone database or
    the ``tzdata`` package; empty when neither has it."""
    for root in zoneinfo.TZPATH:
        path = Path(root) / name
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    try:
        return (resources.files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return ""


def _rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def _known(zone: str, canonical: set[str]) -> bool:
    return zone in canonical if canonical else is_zone(zone)


@functools.lru_cache(maxsize=1)
def zone_names() -> Mapping[str, str]:
    """Lowercase city or country name -> IANA zone.

    Cities are the last part of the zones ``zone.tab`` lists (the canonical ones: "Kolkata"
    is Asia/Kolkata, not a backward-compatible link); listing every zone of the database
    (walking its files) is the fallback when the table is missing.
    """
    canonical = {row[2] for row in _rows(_tab_text("zone.tab")) if len(row) >= 3}
    names: dict[str, str] = {}
    for zone in sorted(canonical or zoneinfo.available_timezones()):
        if "/" not in zone or zone.startswith(_NOT_CITIES):
            continue
        city = zone.rsplit("/", 1)[1].replace("_", " ").lower()
        names.setdefault(city, zone)
    first_zone: dict[str, str] = {}
    for row in _rows(_tab_text("zone.tab")):
        if len(row) >= 3:
            first_zone.setdefault(row[0], row[2])
    countries = {row[0]: row[1] for row in _rows(_tab_text("iso3166.tab")) if len(row) >= 2}
    for code, country in countries.items():
        country_zone = _COUNTRY_ZONE.get(code) or first_zone.get(code)
        if country_zone is None or not _known(country_zone, canonical):
            continue
        for spelling in {country, re.sub(r"\s*\(.*\)", "", country)}:
            names.setdefault(spelling.lower(), country_zone)
    for alias, code in _COUNTRY_ALIASES.items():
        alias_zone = _COUNTRY_ZONE.get(code) or first_zone.get(code)
        if alias_zone is not None and _known(alias_zone, canonical):
            names.setdefault(alias, alias_zone)
    for word, zone in _UTC_NAMES.items():
        names[word] = zone
    return names


@functools.lru_cache(maxsize=1024)
def find_zones(text: str) -> tuple[tuple[int, int, str], ...]:
    """``(start, end, zone)`` for each time zone ``text`` names, in order of appearance."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    for m in _IANA_RE.finditer(text):
        value = m.group(0)
        if value in ("UTC", "GMT") or is_zone(value):
            found.append((m.start(), m.end(), value))
            taken.append(m.span())
    names = zone_names()
    for m in _CAPITALIZED_RE.finditer(text):
        words = list(re.finditer(r"\S+", m.group(0)))
        i = 0
        while i < len(words):
            for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):
                start = m.start() + words[i].start()
                end = m.start() + words[i + n - 1].end()
                phrase = text[start:end].rstrip(".,;:!?'\"").lower()
                end = start + len(phrase)
                zone = names.get(phrase)
                if zone is not None and not any(s < end and start < e for s, e in taken):
                    found.append((start, end, zone))
                    taken.append((start, end))
                    i += n
                    break
            else:
                i += 1
    return tuple(sorted(found))


__all__ = ["find_zones", "is_zone", "zone_names"]
