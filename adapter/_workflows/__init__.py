"""Our workflows: deterministic code only, run unsandboxed (orchestrator, hub, gate, semaphore)."""
