"""Inngest's Event API: ``wire`` (bodies, ids, settings), ``app`` (routes), ``server`` (uvicorn)."""
