"""Client-side Temporal: connecting, the dev server, schedules, search attributes, dispatch of events."""
