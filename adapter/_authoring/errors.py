"""The errors of the phrase readers: the public PhraseError and the parser's internal signals."""

from __future__ import annotations

SCHEDULE_EXAMPLES = (
    "every 15 minutes",
    "hourly",
    "daily at 9 AM",
    "every weekday at 9:30 am Europe/Berlin",
    "every Monday and Thursday at 17:00 New York time",
    "on the 1st of every month at midnight",
    "twice a day at 9am and 5pm",
)
EVENT_EXAMPLES = (
    "when a new user is added",
    "when an order is paid",
    "when a user signs up",
    'on "invoice/created"',
)


class PhraseError(ValueError):
    """A schedule or event phrase that could not be read.

    The message quotes the phrase, says what is wrong and lists phrases that work.
    """

    def __init__(self, phrase: str, reason: str, *, kind: str = "schedule") -> None:
        """Build the message for ``phrase`` of ``kind`` (schedule, event, time zone, ...)."""
        self.phrase = phrase
        self.reason = reason
        examples: tuple[str, ...]
        if kind == "event":
            examples = EVENT_EXAMPLES
        elif kind == "schedule":
            examples = SCHEDULE_EXAMPLES
        else:
            examples = (*SCHEDULE_EXAMPLES[2:5], *EVENT_EXAMPLES[:2])
        listed = ", ".join(f'"{e}"' for e in examples)
        super().__init__(
            f'cannot read the {kind} "{phrase.strip()}": {reason}. Phrases that work: {listed}'
        )


class ReadFailure(Exception):
    """Why some words could not be read; the readers turn it into a PhraseError."""

    def __init__(self, reason: str) -> None:
        """Keep ``reason`` for the PhraseError message."""
        super().__init__(reason)
        self.reason = reason


class Unknown(ReadFailure):
    """Not part of the grammar (the words may belong to something else)."""


class Invalid(ReadFailure):
    """Recognised as a schedule or event, but the value cannot be honoured."""
