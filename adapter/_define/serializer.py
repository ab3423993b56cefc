"""``output_type=`` and the client's ``serializer=``: rich step and function results.

As in inngest-py, a step body (or a handler) may return a value that is not plain
JSON, such as a pydantic model or a dataclass, when it names the type with
``output_type=``. The value is turned into JSON with the client's serializer before
it is recorded, and the recorded JSON is turned back into ``output_type`` every
time the step's result is read: on the first execution and on every replay, so a
handler always sees the same type.

Without ``serializer=`` on the client, :class:`PydanticSerializer` is used (inngest-py
needs one to be set; here ``output_type=`` alone is enough). Without ``output_type=``
results are plain JSON, as before.

Newer inngest-py releases name the type with a pydantic adapter instead:
``step.run(..., output_serializer=Model or TypeAdapter(...))`` and
``create_function(..., type_adapter=TypeAdapter(...))``. Both are accepted
(:func:`output_of`): that adapter then dumps and validates the value itself, whatever
the client's serializer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, runtime_checkable

from pydantic import TypeAdapter

from adapter._errors import ConfigError

JSON: TypeAlias = bool | int | float | str | Mapping[str, object] | Sequence[object] | None
"""A JSON value, as inngest-py's ``inngest.JSON`` (for annotations such as ``Mapping[str, JSON]``)."""


class _Unset:
    """The default of ``output_type=``: no type given, results are plain JSON."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""``output_type`` not given."""


@runtime_checkable
class Serializer(Protocol):
    """Turns results into JSON and back; what ``Inngest(serializer=...)`` takes."""

    def serialize(self, obj: object, typ: object) -> object:
        """Return ``obj`` (declared as ``typ``) as a JSON value (dict, list, str, None...)."""
        ...

    def deserialize(self, obj: object, typ: object) -> object:
        """Return the JSON value ``obj`` rebuilt as ``typ``."""
        ...


class PydanticSerializer:
    """The serializer of pydantic models, dataclasses and anything pydantic can validate."""

    def serialize(self, obj: object, typ: object) -> object:
        """Dump ``obj`` to JSON data with pydantic (models, dataclasses, datetimes...)."""
        return TypeAdapter(object).dump_python(obj, mode="json")

    def deserialize(self, obj: object, typ: object) -> object:
        """Validate the JSON value ``obj`` as ``typ`` (e.g. a model class or ``list[Item]``)."""
        return TypeAdapter[object](typ).validate_python(obj)  # type: ignore[arg-type]


DEFAULT_SERIALIZER = PydanticSerializer()


@dataclass(frozen=True)
class Adapted:
    """An output type given as a pydantic adapter: it dumps and validates by itself."""

    adapter: TypeAdapter[Any]

    @property
    def __name__(self) -> str:  # named in errors as output types are
        return repr(self.adapter)


def output_of(output_type: object, adapter: object, *, what: str, keyword: str) -> object:
    """The output type of a step or function from ``output_type=`` or its adapter keyword.

    ``adapter`` (``output_serializer=`` / ``type_adapter=``) is a pydantic
    ``TypeAdapter`` or a type pydantic validates (a model class, ``list[Model]``).
    """
    if adapter is UNSET or adapter is None:
        return output_type
    if output_type is not UNSET:
        raise ConfigError(f"{what}: give output_type= or {keyword}=, not both")
    if isinstance(adapter, TypeAdapter):
        return Adapted(adapter)
    try:
        return Adapted(TypeAdapter(adapter))  # type: ignore[arg-type]
    except Exception as exc:
        raise ConfigError(
            f"{what}: {keyword}= must be a pydantic TypeAdapter or a type pydantic can "
            f"validate (a model class, list[Model]...): {exc}"
        ) from None


def step_output_type(step_id: str, output_type: object, output_serializer: object) -> object:
    """A step's output type: ``output_type=`` or ``output_serializer=``."""
    return output_of(
        output_type, output_serializer, what=f"step '{step_id}'", keyword="output_serializer"
    )


def encode(value: Any, output_type: object, serializer: Serializer | None) -> Any:
    """``value`` as JSON data for recording; unchanged when no ``output_type`` is given."""
    if output_type is UNSET:
        return value
    if isinstance(output_type, Adapted):
        return output_type.adapter.dump_python(value, mode="json")
    return (serializer or DEFAULT_SERIALIZER).serialize(value, output_type)


def decode(value: Any, output_type: object, serializer: Serializer | None) -> Any:
    """A recorded JSON ``value`` rebuilt as ``output_type``; unchanged when none is given."""
    if output_type is UNSET:
        return value
    if isinstance(output_type, Adapted):
        return output_type.adapter.validate_python(value)
    return (serializer or DEFAULT_SERIALIZER).deserialize(value, output_type)
