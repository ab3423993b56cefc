"""The dev console: server-rendered pages (Jinja2 + vendored htmx) beside the Event API.

:mod:`adapter._console.context` holds what every page needs (:class:`Console`),
:mod:`adapter._console.app` builds the routes from the page modules in ``PAGES``,
:mod:`adapter._console.auth` keeps it closed outside dev without a token.
"""
