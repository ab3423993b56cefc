"""Defining functions: the client, config and triggers, events, crons, expressions (no Temporal calls)."""
