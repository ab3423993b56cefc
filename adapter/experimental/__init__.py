"""inngest-py's ``inngest.experimental``: here only :mod:`adapter.experimental.mocked`.

After ``import adapter as inngest``, ``inngest.experimental.mocked`` is this package's
``mocked``; an import statement names the package: ``from adapter.experimental import
mocked``.
"""

from adapter.experimental import mocked as mocked
