"""English word forms: past participles, base forms of verbs and singular nouns."""

from __future__ import annotations

from adapter._authoring.tokens import words

_IRREGULAR_PAST = {
    "pay": "paid",
    "send": "sent",
    "make": "made",
    "buy": "bought",
    "sell": "sold",
    "begin": "begun",
    "come": "come",
    "go": "gone",
    "leave": "left",
    "lose": "lost",
    "win": "won",
    "hit": "hit",
    "set": "set",
    "put": "put",
    "get": "got",
    "take": "taken",
    "write": "written",
    "give": "given",
    "break": "broken",
    "choose": "chosen",
    "freeze": "frozen",
    "read": "read",
    "build": "built",
    "spend": "spent",
    "find": "found",
    "see": "seen",
    "do": "done",
    "withdraw": "withdrawn",
    "undo": "undone",
    "run": "run",
}
IRREGULAR_PARTICIPLES = frozenset(_IRREGULAR_PAST.values())
_DOUBLING = words(
    """
    admit ban cancel chat commit drop flag log opt permit pin plan refer ship shop skip stop
    submit swap tag transfer zip
    """
)
_IRREGULAR_PLURALS = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "mice": "mouse",
    "data": "data",
    "news": "news",
    "series": "series",
}


def past_participle(verb: str) -> str:
    """Return the past participle: "pay" -> "paid", "ship" -> "shipped", "reply" -> "replied"."""
    if verb in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and len(verb) > 1 and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    if verb in _DOUBLING:
        return verb + verb[-1] + "ed"
    return verb + "ed"


def base_form(word: str, known: set[str] | frozenset[str]) -> str | None:
    """Return the base form of a third-person verb ("syncs" -> "sync") if it is in ``known``."""
    if word in known:
        return word
    candidates = []
    if word.endswith("ies"):
        candidates.append(word[:-3] + "y")
    if word.endswith("s"):
        candidates.append(word[:-1])
    if word.endswith("es"):
        candidates.append(word[:-2])
    for cand in candidates:
        if cand in known:
            return cand
    return None


def singular(noun: str) -> str:
    """Return the singular: "users" -> "user", "companies" -> "company", "boxes" -> "box"."""
    if noun in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[noun]
    if len(noun) <= 3 or noun.endswith(("ss", "us", "is")):
        return noun
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    if noun.endswith(("sses", "xes", "ches", "shes", "zes")):
        return noun[:-2]
    if noun.endswith("s"):
        return noun[:-1]
    return noun
