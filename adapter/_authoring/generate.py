"""The module ``adapter new`` writes: the model's when it passes the check, else the skeleton."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from adapter._authoring.check import check_module
from adapter._authoring.model import (
    ModelOutputError,
    ask_model,
    extract_code,
    model_messages,
    model_settings,
)
from adapter._authoring.plan import FunctionPlan
from adapter._authoring.skeleton import render_skeleton


@dataclass(frozen=True)
class Generated:
    """The module source, where it came from, and why a model's reply was not used."""

    source: str
    origin: Literal["skeleton", "model"]
    note: str = ""


def generate_module(
    plan: FunctionPlan,
    package: str = "functions",
    env: Mapping[str, str] | None = None,
    *,
    use_model: bool = True,
) -> Generated:
    """Choose the module to write: the model's, when configured and it passes check_module.

    Otherwise the skeleton, with the reason the model's reply was not used.
    """
    skeleton = render_skeleton(plan, package)
    settings = model_settings(os.environ if env is None else env) if use_model else None
    if settings is None:
        return Generated(skeleton, "skeleton")
    try:
        reply = ask_model(settings, model_messages(plan, skeleton, package))
        source = extract_code(reply)
        check_module(source, plan, package)
    except ModelOutputError as exc:
        return Generated(skeleton, "skeleton", str(exc))
    return Generated(source, "model", f"written by {settings.model}")
