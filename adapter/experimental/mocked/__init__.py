"""inngest-py's ``inngest.experimental.mocked``, as a thin layer over :mod:`adapter.testing`.

An inngest-py test suite runs unchanged once ``import inngest`` reads
``import adapter as inngest``::

    from inngest.experimental import mocked

    client_mock = mocked.Inngest(app_id="test")
    res = mocked.trigger(fn, inngest.Event(name="test"), client_mock,
                         step_stubs={"wait": mocked.Timeout, "invoke-x": "hi"})
    assert res.status is mocked.Status.COMPLETED and res.output == "hi"

``trigger`` runs the function in the sandbox (:func:`adapter.testing.run`): the
worker's own executor, in-process, without Temporal. As in inngest-py, stubs are
keyed by the step id the code gives (every repeat of an id gets the stub),
``step.run`` bodies run for real with the function's retries, sleeps end at once,
``wait_for_event`` must be stubbed (an event, or :data:`Timeout`) or
:class:`~adapter.experimental.mocked.errors.UnstubbedStepError` is raised,
``step.send_event`` returns the mock client's ids (``"0" * 26`` each) and
``res.output`` is the value the handler returned. ``res.error`` is the exception
that failed the run: for a step that failed after its retries and was not caught,
the step's own exception, as in inngest-py.

Where the sandbox does more than inngest-py's ``mocked``: a ``step.invoke`` of a
function of the same app that is not stubbed runs that function in the sandbox too
(inngest-py requires a stub); stubs may also be exceptions (the step fails with it)
or callables (called instead of the body); a ``client.send`` inside a step body of
a function whose client is not the mock still goes to Temporal.
"""

from adapter.experimental.mocked._trigger import Inngest, Status, Timeout, TriggerResult, trigger

__all__ = [
    "Inngest",
    "Status",
    "Timeout",
    "TriggerResult",
    "trigger",
]
