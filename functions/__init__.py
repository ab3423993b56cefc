"""The app's durable functions: ``client.py`` plus one module per function.

``adapter dev`` and ``adapter worker`` import every module here and run the
functions they define.
"""
