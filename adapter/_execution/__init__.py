"""Running user code (activities only, never inside a workflow): steps, context, the executor."""
