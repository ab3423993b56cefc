"""The operator's controls: wake a sleep, rerun from a step, cancel in bulk, pause a function.

Each acts through Temporal (a signal, a reset, cancellation requests, a workflow that
holds a function's events) so that what an operator did is visible there too.
"""
