"""Observing runs from Temporal alone: listing, history → step timeline, schedules, replay, rendering."""
