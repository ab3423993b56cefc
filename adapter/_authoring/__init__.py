"""Authoring: plain-language triggers and ``adapter new``.

Phrases are read by a small deterministic parser that never guesses; anything it
cannot read is a :class:`~adapter._authoring.errors.PhraseError` that quotes the
phrase and lists phrases that work. ``schedule`` reads schedules (cron + IANA
zone), ``events`` event names, ``describe`` whole descriptions; ``plan``,
``skeleton``, ``model``, ``check``, ``generate`` and ``write`` make the module
``adapter new`` writes.
"""
