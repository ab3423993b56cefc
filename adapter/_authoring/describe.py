"""Whole descriptions: "Send a report every Monday at 9 AM" -> its trigger and its action."""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapter._authoring.errors import Invalid, PhraseError, Unknown
from adapter._authoring.events import EventSpec, event_from_clause, starter_at
from adapter._authoring.inflection import base_form
from adapter._authoring.schedule import Schedule, ScheduleParser
from adapter._authoring.tokens import BOUNDARIES, HARD_BOUNDARIES, Tok, tokenize, words
from adapter._authoring.vocabulary import ALL_UNITS, DAYS, FILLER, TIMEY, number
from adapter._define.config import TriggerEvent


@dataclass(frozen=True)
class Description:
    """A workflow description split into its trigger and its action (the rest)."""

    text: str
    trigger: Schedule | EventSpec
    action: str


# Verbs that start an action ("send", "sync"): where the action and its steps begin.
ACTION_VERBS = words(
    """
    add aggregate alert analyse analyze announce append approve archive assign audit back
    backup bill broadcast build calculate call cancel charge check clean cleanup close
    collect compile compress compute convert copy count crawl create credit debit dedupe
    deduplicate delete deliver deploy detect disable download draft email enable encrypt
    enqueue enrich escalate export extract fetch file filter find flag forward gather
    generate get import index insert invite invoice label list load log mail mark merge
    message migrate monitor move notify onboard open parse pause pay ping poll post prepare
    print process provision publish pull purge push query queue read rebuild recalculate
    reconcile record refresh refund reindex reject release remind remove render renew report
    request reset resize restart resume retry rotate run save scan schedule score scrape
    send ship sms snapshot sort start stop store submit summarise summarize sync tag text
    track train transfer transform translate trigger tweet unsubscribe update upload upsert
    validate verify warn welcome write
    """
)


def action_verb(word: str) -> str | None:
    """Return the base form of an action verb ("syncs" -> "sync", "fetches" -> "fetch"), or None."""
    return base_form(word.lower(), ACTION_VERBS)


_PREAMBLE_VERBS = words(
    """
    add build create define generate make need schedule setup want write
    """
)
_PREAMBLE_NOUNS = words(
    """
    automation cron cronjob function job routine task workflow
    """
)
_PREAMBLE_ADJECTIVES = words(
    """
    background cron durable inngest new recurring scheduled simple small temporal
    """
)
_PREAMBLE_FREQUENCIES = {"daily", "hourly", "weekly", "monthly"}


def _preamble(toks: list[str]) -> tuple[int, list[str]]:
    """Skip "Create a (daily) workflow that ..."; return where the action starts.

    Also return the frequency words ("daily", "weekly", ...) found on the way.
    """
    k = 0
    if k < len(toks) and toks[k] == "please":
        k += 1
    if toks[k : k + 2] in (["i", "need"], ["i", "want"], ["we", "need"], ["we", "want"]):
        k += 1
    if toks[k : k + 2] == ["set", "up"]:
        k += 2
    elif k < len(toks) and toks[k] in _PREAMBLE_VERBS:
        k += 1
    else:
        return 0, []
    if k < len(toks) and toks[k] in ("me", "us"):
        k += 1
    if k < len(toks) and toks[k] in ("a", "an", "one"):
        k += 1
    else:
        return 0, []
    freqs: list[str] = []
    while k < len(toks) and (toks[k] in _PREAMBLE_ADJECTIVES or toks[k] in _PREAMBLE_FREQUENCIES):
        if toks[k] in _PREAMBLE_FREQUENCIES:
            freqs.append(toks[k])
        k += 1
    if k < len(toks) and toks[k] in _PREAMBLE_NOUNS:
        k += 1
        if k < len(toks) and toks[k] == "job":
            k += 1
    else:
        return 0, []
    if k < len(toks) and toks[k] in ("that", "which", "to", "for"):
        k += 1
    return k, freqs


def _find_event(toks: list[str], begin: int) -> tuple[int, int, EventSpec] | None:
    """Return the first event clause from ``begin`` on ("when a user signs up"), with its span."""
    for i in range(begin, len(toks)):
        start = starter_at(toks, i)
        if start is None:
            continue
        end = start
        while end < len(toks) and toks[end] not in HARD_BOUNDARIES:
            if toks[end] == "and" and end + 1 < len(toks) and action_verb(toks[end + 1]):
                break
            end += 1
        clause = toks[start:end]
        if not clause:
            continue
        try:
            name = event_from_clause(clause)
        except Invalid as exc:
            raise Invalid(f'"{" ".join(toks[i:end])}": {exc.reason}') from None
        try:
            TriggerEvent(event=name)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        return i, end, EventSpec(name=name, phrase=" ".join(toks[i:end]))
    return None


def _schedule_span(
    toks: list[str], begin: int, end: int, prefix: list[str]
) -> tuple[int, int, str, str] | None:
    """Return the earliest, longest run of tokens in [begin, end) that reads as a schedule."""
    ends = [j for j in range(begin + 1, end) if toks[j] in BOUNDARIES] + [end]
    for i in range(begin, end):
        if toks[i] in FILLER or toks[i] in (".", ";"):
            continue
        for j in sorted((e for e in ends if e > i), reverse=True):
            try:
                cron, zone = ScheduleParser(prefix + toks[i:j]).parse()
            except Unknown:
                continue
            return i, j, cron, zone
    return None


def _leftover_check(toks: list[str]) -> None:
    """Raise for schedule words outside the parsed trigger, rather than drop them silently."""
    for k, tok in enumerate(toks):
        nxt = toks[k + 1 : k + 3]
        strong = (
            tok in ("am", "pm", "noon", "midnight", "o'clock")
            or re.fullmatch(r"\d{1,2}:\d{2}", tok) is not None
            or (tok in DAYS and len(tok) > 3)
            or tok in ("weekday", "weekdays", "weekend", "weekends")
            or (tok in ("every", "each") and any(w in TIMEY or w in ALL_UNITS for w in nxt))
            or (tok in ("every", "each") and any(number(w) is not None for w in nxt[:1]))
        )
        if strong:
            around = " ".join(toks[k : k + 3])
            raise Invalid(f'"{around}" looks like part of a schedule but I could not read it')


def parse_description(text: str) -> Description:
    """Split a workflow description into its trigger and its action.

    "Send a Slack summary of open tickets every weekday at 9 AM Berlin time" gives
    a Schedule (``0 9 * * 1-5``, Europe/Berlin) and the action "Send a Slack summary
    of open tickets"; "...when a new user is added" gives ``user/created``. Raises
    PhraseError when there is no trigger, two triggers, or words that look like a
    schedule but cannot be read.
    """
    tokens = tokenize(text)
    toks = [t.text for t in tokens]
    try:
        begin, freqs = _preamble(toks)
        event = _find_event(toks, begin)
        spans: list[tuple[int, int]] = []
        trigger: Schedule | EventSpec | None = None
        if event is not None:
            e_start, e_end, spec = event
            spans.append((e_start, e_end))
            trigger = spec
        found = None
        for lo, hi in _free_ranges(begin, len(toks), spans):
            found = _schedule_span(toks, lo, hi, freqs)
            if found is not None:
                break
        if found is None and freqs:
            cron, zone = ScheduleParser(list(freqs)).parse()
            found = (begin, begin, cron, zone)
        if found is not None:
            s_start, s_end, cron, zone = found
            while s_start > begin and toks[s_start - 1] in ("on", "the", "from"):
                s_start -= 1
            if trigger is not None:
                raise Invalid(
                    "it has both a schedule and an event; a description gives one trigger"
                )
            words = text[tokens[s_start].start : tokens[s_end - 1].end] if s_end > s_start else ""
            phrase = " ".join([*freqs, words]).strip()
            trigger = Schedule(cron=cron, timezone=zone, phrase=phrase)
            spans.append((s_start, s_end))
        if trigger is None:
            reason = _no_trigger_reason(toks, begin)
            raise Unknown(reason)
        rest = [t for k, t in enumerate(toks) if k >= begin and not _inside(k, spans)]
        _leftover_check(rest)
    except (Unknown, Invalid) as exc:
        raise PhraseError(text, exc.reason, kind="description") from None
    action = _action_text(text, tokens, begin, spans)
    return Description(text=text.strip(), trigger=trigger, action=action)


def _no_trigger_reason(toks: list[str], begin: int) -> str:
    """Why no schedule was found: the first schedule-like word's error, if any."""
    for i in range(begin, len(toks)):
        if toks[i] in (
            "every",
            "each",
            "at",
            "hourly",
            "daily",
            "weekly",
            "monthly",
            "twice",
            "once",
        ):
            end = i
            while end < len(toks) and toks[end] not in HARD_BOUNDARIES:
                end += 1
            try:
                ScheduleParser(toks[i:end]).parse()
            except (Unknown, Invalid) as exc:
                return f"it has no schedule or event I can read ({exc.reason})"
    return 'it has no schedule (e.g. "every hour") and no event (e.g. "when a user signs up")'


def _free_ranges(begin: int, end: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return the parts of [begin, end) outside ``spans``, in order."""
    ranges: list[tuple[int, int]] = []
    lo = begin
    for s, e in sorted(spans):
        if s > lo:
            ranges.append((lo, s))
        lo = max(lo, e)
    if lo < end:
        ranges.append((lo, end))
    return ranges


def _inside(k: int, spans: list[tuple[int, int]]) -> bool:
    """Whether token ``k`` lies in one of ``spans``."""
    return any(s <= k < e for s, e in spans)


def _action_text(text: str, tokens: list[Tok], begin: int, spans: list[tuple[int, int]]) -> str:
    """Return the description without preamble and trigger, in the user's own words."""
    pieces: list[str] = []
    current: list[Tok] = []
    for k in range(begin, len(tokens)):
        if _inside(k, spans):
            if current:
                pieces.append(text[current[0].start : current[-1].end])
                current = []
            continue
        current.append(tokens[k])
    if current:
        pieces.append(text[current[0].start : current[-1].end])
    action = " ".join(p.strip() for p in pieces)
    action = re.sub(r"\s+([,;.])", r"\1", action)
    action = re.sub(r"^[\s,;.]*(?:(?:and|then)\b[\s,]*)*", "", action, flags=re.IGNORECASE)
    action = re.sub(r"(?:[\s,;]+(?:and|then))*[\s,;.]*$", "", action, flags=re.IGNORECASE)
    return action.strip()
