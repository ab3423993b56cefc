"""What an app adds to its Temporal client: a payload codec, interceptors, plugins, a runtime.

:class:`TemporalOptions` gathers them from ``Inngest(payload_codec=..., interceptors=...,
plugins=..., runtime=...)``, from :class:`~adapter.worker.WorkerSettings`, from the CLI's
``--plugin module:attr`` and from ``ADAPTER_PLUGINS`` (comma-separated ``module:attr``).
:func:`with_options` applies them to a connected client (same connection, new data
converter, interceptors and plugins); temporalio workers take the client's codec,
its worker-side interceptors and its worker plugins with it.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import temporalio.client
import temporalio.worker
from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from adapter._errors import ConfigError

__all__ = [
    "PLUGINS_ENV",
    "TemporalOptions",
    "load_object",
    "options_from_env",
    "options_from_specs",
    "prometheus_runtime",
    "with_options",
]

PLUGINS_ENV = "ADAPTER_PLUGINS"
"""Comma-separated ``module:attr`` specs every ``adapter`` command (and ``connect``) loads."""


@dataclass(frozen=True)
class TemporalOptions:
    """A payload codec, interceptors, plugins and a runtime for a Temporal client and its workers.

    ``interceptors`` may be client interceptors, worker interceptors or both
    (``temporalio.client.Interceptor`` / ``temporalio.worker.Interceptor``); ``plugins``
    are temporalio plugins (``temporalio.plugin.SimplePlugin`` and the like). ``runtime``
    (e.g. Prometheus metrics) applies only when a connection is made with these options.
    """

    payload_codec: PayloadCodec | None = None
    interceptors: tuple[Any, ...] = ()
    plugins: tuple[Any, ...] = ()
    runtime: Runtime | None = None

    @property
    def empty(self) -> bool:
        """Whether there is nothing to apply."""
        return (
            self.payload_codec is None
            and not self.interceptors
            and not self.plugins
            and self.runtime is None
        )

    @property
    def worker_interceptors(self) -> list[temporalio.worker.Interceptor]:
        """The interceptors that are worker-only (the others ride on the client)."""
        return [
            i
            for i in self.interceptors
            if isinstance(i, temporalio.worker.Interceptor)
            and not isinstance(i, temporalio.client.Interceptor)
        ]

    def merged(self, other: TemporalOptions | None) -> TemporalOptions:
        """Both sets of options; two different payload codecs raise ConfigError."""
        if other is None or other.empty:
            return self
        if self.empty:
            return other
        codec = _one_codec(self.payload_codec, other.payload_codec)
        if (
            self.runtime is not None
            and other.runtime is not None
            and self.runtime is not other.runtime
        ):
            raise ConfigError("two Temporal runtimes given; a connection has one")
        return TemporalOptions(
            payload_codec=codec,
            interceptors=_union(self.interceptors, other.interceptors),
            plugins=_union(self.plugins, other.plugins),
            runtime=self.runtime or other.runtime,
        )

    @classmethod
    def of(cls, objects: Iterable[object], *, source: str = "plugin") -> TemporalOptions:
        """Options from loaded objects: codecs, interceptors, plugins, runtimes, options.

        A class is instantiated without arguments and a function called without
        arguments first (``adapter.encryption:EncryptionCodec`` reads its keys from the
        environment); a list or tuple contributes each of its items.
        """
        out = cls()
        for obj in objects:
            out = out.merged(_classify(obj, source))
        return out


def _classify(obj: object, source: str) -> TemporalOptions:
    if isinstance(obj, TemporalOptions):
        return obj
    if isinstance(obj, PayloadCodec):
        return TemporalOptions(payload_codec=obj)
    if isinstance(obj, temporalio.client.Plugin | temporalio.worker.Plugin):
        return TemporalOptions(plugins=(obj,))
    if isinstance(obj, temporalio.client.Interceptor | temporalio.worker.Interceptor):
        return TemporalOptions(interceptors=(obj,))
    if isinstance(obj, Runtime):
        return TemporalOptions(runtime=obj)
    if isinstance(obj, list | tuple):
        return TemporalOptions.of(obj, source=source)
    if inspect.isclass(obj) or callable(obj):
        return _classify(obj(), source)
    raise ConfigError(
        f"{source}: {obj!r} is not a PayloadCodec, a temporalio plugin or interceptor, a "
        "temporalio Runtime, nor a class or function making one"
    )


def load_object(spec: str) -> object:
    """The object ``module:attr`` names (``attr`` may be dotted); ConfigError when it does not load."""
    module_name, sep, attr = spec.strip().partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(
            f"plugin {spec!r}: write it as module:attribute (e.g. adapter.encryption:EncryptionCodec)"
        )
    try:
        obj: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"plugin {spec!r}: cannot import {module_name}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"plugin {spec!r}: {module_name} has no {attr}") from None
    return obj


def options_from_specs(specs: Iterable[str], *, source: str = "--plugin") -> TemporalOptions:
    """Options from ``module:attr`` specs (see :meth:`TemporalOptions.of`)."""
    out = TemporalOptions()
    for spec in specs:
        out = out.merged(TemporalOptions.of([load_object(spec)], source=f"{source} {spec}"))
    return out


def options_from_env(environ: Mapping[str, str] | None = None) -> TemporalOptions:
    """Options from ``ADAPTER_PLUGINS`` (comma-separated ``module:attr``), empty when unset."""
    env = os.environ if environ is None else environ
    specs = [s for s in env.get(PLUGINS_ENV, "").split(",") if s.strip()]
    return options_from_specs(specs, source=PLUGINS_ENV) if specs else TemporalOptions()


def prometheus_runtime(bind_address: str) -> Runtime:
    """A temporalio Runtime serving Prometheus metrics on ``bind_address`` (``host:port``)."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


def with_options(client: Client, options: TemporalOptions | None) -> Client:
    """``client`` with the codec, client interceptors and plugins of ``options`` added.

    The same connection (a new ``Client`` object over its service client); ``client``
    itself when there is nothing to add or all of it is there already. A client with a
    different payload codec raises ConfigError. The runtime is the connection's and
    cannot change here.
    """
    if options is None or options.empty:
        return client
    config = client.config()
    active = client.config(active_config=True)["data_converter"]
    changed = False
    codec = options.payload_codec
    if codec is not None and active.payload_codec is not codec:
        if active.payload_codec is not None and active.payload_codec != codec:
            raise ConfigError(
                f"this Temporal client already encodes payloads with {active.payload_codec!r}, "
                f"not {codec!r}: one payload codec per client (and per namespace)"
            )
        if active.payload_codec is None:
            config["data_converter"] = dataclasses.replace(
                config["data_converter"], payload_codec=codec
            )
            changed = True
    interceptors = list(config["interceptors"])
    for interceptor in options.interceptors:
        if (
            isinstance(interceptor, temporalio.client.Interceptor)
            and interceptor not in interceptors
        ):
            interceptors.append(interceptor)
            changed = True
    plugins = list(config["plugins"])
    for plugin in options.plugins:
        if isinstance(plugin, temporalio.client.Plugin) and plugin not in plugins:
            plugins.append(plugin)
            changed = True
    if not changed:
        return client
    config["interceptors"] = interceptors
    config["plugins"] = plugins
    return Client(**config)


def worker_plugins(
    options: TemporalOptions | None, client: Client
) -> list[temporalio.worker.Plugin]:
    """The worker plugins of ``options`` that ``client`` does not already hand its workers."""
    if options is None:
        return []
    on_client: list[object] = list(client.config()["plugins"])
    return [
        p for p in options.plugins if isinstance(p, temporalio.worker.Plugin) and p not in on_client
    ]


def _one_codec(a: PayloadCodec | None, b: PayloadCodec | None) -> PayloadCodec | None:
    if a is None or b is None or a is b or a == b:
        return a or b
    raise ConfigError(
        f"two different payload codecs given ({a!r} and {b!r}): a namespace's apps, workers "
        "and senders share one (hubs and event records are namespace-wide)"
    )


def _union(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    return a + tuple(x for x in b if x not in a)
