"""``adapter dev`` only: the functions folder reloaded while the dev worker runs.

:mod:`adapter._dev.folder` imports the folder afresh (a module that fails is a problem,
not a stop) and :mod:`adapter._dev.workers` restarts the app workers on the new set.
``adapter worker`` never reloads: a deploy is a new worker.
"""
