"""``adapter migrate``: move a tree of inngest-py code to this package by its imports."""
