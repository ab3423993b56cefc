"""Event phrases: "when a new user is added" -> the Inngest-style name ``user/created``.

Names are ``noun/verb``: the noun is the subject (or, for an active verb with an
object, the object), singular and lowercase; the verb is its past participle,
phrasal particles joined with a dot, and common synonyms folded
(added/new/registered/signed up -> ``created``; removed -> ``deleted``;
changed/edited -> ``updated``). "when an order is paid" is ``order/paid``, "when a
user logs in" is ``user/logged.in``, "when a customer places an order" is
``order/placed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapter._authoring.errors import Invalid, PhraseError
from adapter._authoring.inflection import (
    IRREGULAR_PARTICIPLES,
    base_form,
    past_participle,
    singular,
)
from adapter._authoring.tokens import CLAUSE_ENDS, token_texts, words
from adapter._authoring.vocabulary import ALL_UNITS
from adapter._define.config import TriggerEvent


@dataclass(frozen=True)
class EventSpec:
    """A parsed event trigger: the Inngest-style event ``name``."""

    name: str
    phrase: str = ""

    @property
    def trigger(self) -> TriggerEvent:
        """The trigger, validated by the adapter."""
        return TriggerEvent(event=self.name)

    def describe(self) -> str:
        """In words, e.g. 'On every "user/created" event'."""
        return f'On every "{self.name}" event'


_DETERMINERS = words(
    """
    a an any each every her his its my our some that the their this your
    """
)
_AUX = words(
    """
    are become becomes get gets got has have is was were
    """
)
_AUX_FILL = words(
    """
    been being finally first fully just newly successfully
    """
)
_PARTICLES = words(
    """
    away back down in off out over up
    """
)
_PREPOSITIONS = words(
    """
    after and at before by for from in inside into on onto or through to using via with
    within
    """
)
_EVENT_VERBS = words(
    """
    abandon accept activate add appear approve archive arrive assign back ban begin bill
    block book bounce break buy cancel change charge check churn click close come comment
    commit complete confirm convert create deactivate decline delete deliver deploy deposit
    destroy disable downgrade download drop edit enable end enroll erase exceed expire
    export fail finish flag import insert invite join leave log lose merge modify move open
    opt order pay place publish purchase rate reach receive refund register reject remove
    renew reopen reply report request reschedule resolve restore return review schedule sell
    send ship sign start stop submit subscribe succeed sync transfer trigger unsubscribe
    update upgrade upload verify view visit win withdraw
    """
)
_VERB_SYNONYMS = {
    "added": "created",
    "created": "created",
    "new": "created",
    "registered": "created",
    "signed.up": "created",
    "joined": "created",
    "inserted": "created",
    "come.in": "created",
    "arrived": "created",
    "appeared": "created",
    "removed": "deleted",
    "deleted": "deleted",
    "destroyed": "deleted",
    "erased": "deleted",
    "updated": "updated",
    "changed": "updated",
    "edited": "updated",
    "modified": "updated",
    "canceled": "cancelled",
    "cancelled": "cancelled",
    "finished": "completed",
    "completed": "completed",
}


def _noun(nouns: list[str]) -> str:
    """Return the event's noun: the last word, singular, without "'s" and punctuation."""
    head = nouns[-1]
    head = re.sub(r"'s$", "", head)
    return re.sub(r"[^a-z0-9_-]", "", singular(head))


def _event_name(noun: str, verb: str) -> str:
    """``noun/verb`` with the verb's synonyms folded ("added" -> "created")."""
    return f"{noun}/{_VERB_SYNONYMS.get(verb, verb)}"


# A name written out, e.g. "invoice/created".
EXPLICIT_EVENT = re.compile(r"[a-z0-9_][a-z0-9_.-]*/[a-z0-9_.:/-]+", re.IGNORECASE)


def event_from_clause(toks: list[str]) -> str:
    """Read the event name of a clause after "when" ("a new user is added" -> user/created)."""
    for tok in toks:
        if EXPLICIT_EVENT.fullmatch(tok):
            return tok
    k = 0
    is_new = False
    if toks[:2] in (["there", "is"], ["there", "are"], ["there's"]):
        k = 2 if toks[0] == "there" else 1
        is_new = True
    nouns: list[str] = []
    while k < len(toks):
        tok = toks[k]
        if tok in CLAUSE_ENDS:
            break
        if not nouns and tok in _DETERMINERS:
            k += 1
            continue
        if tok in ("new", "newly"):
            is_new = True
            k += 1
            continue
        if nouns and tok in _AUX:
            return _passive(nouns, toks, k + 1)
        next_is_aux = k + 1 < len(toks) and toks[k + 1] in _AUX
        if nouns and not next_is_aux:
            subject_plural = nouns[-1].endswith("s") and singular(nouns[-1]) != nouns[-1]
            base = base_form(tok, _EVENT_VERBS) if tok not in _EVENT_VERBS else None
            if base is None and subject_plural and tok in _EVENT_VERBS:
                base = tok
            if base is not None:
                return _active(nouns, base, toks, k + 1)
        if tok in _PREPOSITIONS and nouns:
            break
        nouns.append(tok)
        k += 1
    if nouns and is_new:
        return _event_name(_noun(nouns), "created")
    if not nouns:
        raise Invalid("it does not say what the event is about")
    raise Invalid(
        f'no verb I know after "{" ".join(nouns)}"; write it like "when an order is paid" '
        'or "when a user signs up"'
    )


def _passive(nouns: list[str], toks: list[str], k: int) -> str:
    """Name the event "<nouns> is <participle> [particle]", reading from ``k`` after "is"."""
    while k < len(toks) and toks[k] in _AUX_FILL:
        k += 1
    if k >= len(toks):
        raise Invalid(f'"{" ".join(nouns)} is" needs a verb, e.g. "is paid"')
    verb = toks[k]
    if verb == "new":
        return _event_name(_noun(nouns), "created")
    if not (verb.endswith("ed") or verb in IRREGULAR_PARTICIPLES):
        raise Invalid(f'"{verb}" is not a verb I can read; write e.g. "is created" or "is paid"')
    if k + 1 < len(toks) and toks[k + 1] in _PARTICLES and _particle_ends(toks, k + 2):
        verb = f"{verb}.{toks[k + 1]}"
    return _event_name(_noun(nouns), verb)


def _particle_ends(toks: list[str], k: int) -> bool:
    """Tell whether a particle is phrasal: nothing or a preposition follows it."""
    return k >= len(toks) or toks[k] in _PREPOSITIONS or toks[k] in CLAUSE_ENDS


def _active(nouns: list[str], base: str, toks: list[str], k: int) -> str:
    """Name the event "<nouns> <verb> [particle] [object]"; the object is the noun if given."""
    verb = past_participle(base)
    if k < len(toks) and toks[k] in _PARTICLES and _particle_ends(toks, k + 1):
        verb = f"{verb}.{toks[k]}"
        k += 1
    obj: list[str] = []
    while k < len(toks) and toks[k] not in _PREPOSITIONS and toks[k] not in CLAUSE_ENDS:
        if not (not obj and toks[k] in _DETERMINERS) and toks[k] not in ("new", "newly"):
            obj.append(toks[k])
        k += 1
    return _event_name(_noun(obj or nouns), verb)


_EVENT_STARTERS: tuple[tuple[str, ...], ...] = (
    ("every", "time"),
    ("each", "time"),
    ("any", "time"),
    ("as", "soon", "as"),
    ("whenever",),
    ("when",),
    ("once",),
    ("after",),
    ("on",),
)


def starter_at(toks: list[str], i: int) -> int | None:
    """Return the index after an event starter ("when", "every time", ...) at ``i``, or None."""
    for starter in _EVENT_STARTERS:
        n = len(starter)
        if tuple(toks[i : i + n]) != starter:
            continue
        nxt = toks[i + n] if i + n < len(toks) else ""
        if starter in (("once",), ("after",)) and (
            nxt not in ("a", "an", "the", "new", "any", "every", "each")
            or (i + n + 1 < len(toks) and toks[i + n + 1] in ALL_UNITS)
        ):
            return None
        if starter == ("on",):
            after = toks[i + n + 1] if i + n + 1 < len(toks) else ""
            if not (
                EXPLICIT_EVENT.fullmatch(nxt)
                or (nxt in ("event", "the") and EXPLICIT_EVENT.fullmatch(after))
                or "new" in toks[i + 1 : i + 3]
            ):
                return None
        return i + n
    return None


def parse_event(phrase: str) -> EventSpec:
    """Read an event phrase ("when an order is paid") into an Inngest-style name.

    The starter ("when", "whenever", "every time", "after", "on") is optional.
    Raises PhraseError quoting the phrase when no event can be read.
    """
    toks = token_texts(phrase)
    start = starter_at(toks, 0) or 0
    clause = toks[start:]
    if not clause:
        raise PhraseError(phrase, "it is empty", kind="event")
    try:
        name = event_from_clause(clause)
        TriggerEvent(event=name)
    except Invalid as exc:
        raise PhraseError(phrase, exc.reason, kind="event") from None
    except ValueError as exc:
        raise PhraseError(phrase, str(exc), kind="event") from None
    if name.startswith("inngest/"):
        raise PhraseError(phrase, "the inngest/ prefix is reserved", kind="event")
    return EventSpec(name=name, phrase=phrase.strip())
