"""inngest-py's own function test cases (its tests/test_inngest/test_function/cases), ported.

Each module here defines functions the way an inngest-py app does — ``import adapter as
inngest`` and inngest-py's spelling only — and a check that runs them through a real
Temporal server and asserts what ran, how often, and what Temporal recorded.
``tests/test_inngest_cases.py`` registers every case on one app and runs them with one
worker. The behaviours were learned from inngest-py's cases; the code is our own.
"""
