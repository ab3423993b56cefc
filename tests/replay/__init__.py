"""The replay corpus: recorded histories of our workflows, replayed by tests/test_replay_corpus.py.

``python -m tests.replay.record`` records them (tests/replay/record.py) into
``tests/replay/histories/<adapter version>/``.
"""
