"""Time zones: IANA names, their cities, and common abbreviations, countries and cities."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

from adapter._authoring.errors import Invalid, PhraseError
from adapter._authoring.tokens import token_texts, words

_ZONE_ALIASES: dict[str, str] = {
    # abbreviations and names of zones
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "zulu": "UTC",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "central european": "Europe/Berlin",
    "eet": "Europe/Athens",
    "eest": "Europe/Athens",
    "eastern european": "Europe/Athens",
    "wet": "Europe/Lisbon",
    "western european": "Europe/Lisbon",
    "bst": "Europe/London",
    "british": "Europe/London",
    "msk": "Europe/Moscow",
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "eastern": "America/New_York",
    "ct": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "central": "America/Chicago",
    "mt": "America/Denver",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "mountain": "America/Denver",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pacific": "America/Los_Angeles",
    "akst": "America/Anchorage",
    "akdt": "America/Anchorage",
    "alaska": "America/Anchorage",
    "hst": "Pacific/Honolulu",
    "hawaii": "Pacific/Honolulu",
    "brt": "America/Sao_Paulo",
    "ist": "Asia/Kolkata",
    "india": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "japan": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "korea": "Asia/Seoul",
    "south korea": "Asia/Seoul",
    "sgt": "Asia/Singapore",
    "hkt": "Asia/Hong_Kong",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "acst": "Australia/Adelaide",
    "acdt": "Australia/Adelaide",
    "awst": "Australia/Perth",
    "nzst": "Pacific/Auckland",
    "nzdt": "Pacific/Auckland",
    "new zealand": "Pacific/Auckland",
    "sast": "Africa/Johannesburg",
    # countries with a single zone
    "germany": "Europe/Berlin",
    "france": "Europe/Paris",
    "uk": "Europe/London",
    "united kingdom": "Europe/London",
    "britain": "Europe/London",
    "england": "Europe/London",
    "ireland": "Europe/Dublin",
    "netherlands": "Europe/Amsterdam",
    "italy": "Europe/Rome",
    "poland": "Europe/Warsaw",
    "switzerland": "Europe/Zurich",
    "austria": "Europe/Vienna",
    "sweden": "Europe/Stockholm",
    "israel": "Asia/Jerusalem",
    # cities not (or not only) spelled as in the IANA database
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "lyon": "Europe/Paris",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "barcelona": "Europe/Madrid",
    "milan": "Europe/Rome",
    "geneva": "Europe/Zurich",
    "kiev": "Europe/Kyiv",
    "new york": "America/New_York",
    "new york city": "America/New_York",
    "nyc": "America/New_York",
    "boston": "America/New_York",
    "washington dc": "America/New_York",
    "new jersey": "America/New_York",
    "east coast": "America/New_York",
    "west coast": "America/Los_Angeles",
    "california": "America/Los_Angeles",
    "dc": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "philadelphia": "America/New_York",
    "montreal": "America/Toronto",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "austin": "America/Chicago",
    "salt lake city": "America/Denver",
    "los angeles": "America/Los_Angeles",
    "la": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "sf": "America/Los_Angeles",
    "bay area": "America/Los_Angeles",
    "silicon valley": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "portland": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "las vegas": "America/Los_Angeles",
    "são paulo": "America/Sao_Paulo",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "beijing": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata",
    "pune": "Asia/Kolkata",
    "tel aviv": "Asia/Jerusalem",
    "saigon": "Asia/Ho_Chi_Minh",
    "ho chi minh city": "Asia/Ho_Chi_Minh",
    "cape town": "Africa/Johannesburg",
    "canberra": "Australia/Sydney",
    "wellington": "Pacific/Auckland",
}
_CITY_AREAS = words(
    """
    Africa America Asia Atlantic Australia Europe Indian Pacific
    """
)
_TIME = ("time", "timezone", "tz")  # the word after a zone: "Berlin time"
# IANA city names that are also everyday words; only their full IANA name is accepted.
_CITY_DENY = words(
    """
    center christmas easter midway north south wake west
    """
)


@cache
def _zone_names() -> dict[str, str]:
    """Lowercase phrase -> IANA zone: IANA names, their city parts, and the aliases."""
    names: dict[str, str] = {}
    cities: dict[str, set[str]] = {}
    for zone in available_timezones():
        if "/" not in zone:
            continue
        names[zone.lower()] = zone
        area, _, city = zone.partition("/")
        if area in _CITY_AREAS and "/" not in city:
            cities.setdefault(city.replace("_", " ").lower(), set()).add(zone)
    for city, zones in cities.items():
        if len(zones) == 1 and city not in _CITY_DENY:
            names[city] = next(iter(zones))
    names.update(_ZONE_ALIASES)
    return names


def resolve_zone(text: str) -> str:
    """Return the IANA zone for a name, city or abbreviation ("Berlin", "ET", "Asia/Tokyo").

    Raises PhraseError for fixed offsets and unknown names.
    """
    toks = token_texts(text)
    try:
        zone, end = match_zone(toks, 0)
    except Invalid as exc:
        raise PhraseError(text, exc.reason, kind="time zone") from None
    if zone is None or end != len(toks):
        raise PhraseError(
            text,
            "not a time zone I know; use an IANA name such as Europe/Berlin, a city or an "
            "abbreviation such as ET or CET",
            kind="time zone",
        )
    return zone


def match_zone(toks: list[str], i: int) -> tuple[str | None, int]:
    """Longest zone name at ``i``; (None, i) when there is none."""
    if i >= len(toks):
        return None, i
    first = toks[i]
    if re.fullmatch(r"(?:utc|gmt)[+-].*", first):
        raise Invalid(
            f'"{first.upper()}" is a fixed UTC offset, which ignores daylight saving; name the '
            "place instead (a city such as Berlin, or an IANA zone such as Europe/Berlin)"
        )
    if first in ("local", "my", "our", "server") and i + 1 < len(toks) and toks[i + 1] in _TIME:
        raise Invalid(
            f'"{first} time" does not say which zone; name it (e.g. Europe/Berlin, New York, UTC)'
        )
    names = _zone_names()
    for n in range(min(4, len(toks) - i), 0, -1):
        key = " ".join(toks[i : i + n]).lower()
        if key in names:
            zone = names[key]
            j = i + n
            if j < len(toks) and toks[j] in ("standard", "daylight"):
                j += 1
            if j < len(toks) and toks[j] in _TIME:
                j += 1
            elif j + 1 < len(toks) and toks[j : j + 2] == ["time", "zone"]:
                j += 2
            return zone, j
    return None, i


def zone_aliases() -> dict[str, str]:
    """Return the hand-written names (abbreviations, cities, countries) and their IANA zones."""
    return dict(_ZONE_ALIASES)
