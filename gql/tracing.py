"""OpenTelemetry traces: off unless the standard variables switch them on.

`OTEL_TRACES_EXPORTER` names the exporters (`otlp`, `console`; unset or `none`: no
traces, nothing is instrumented, no cost), `OTEL_SDK_DISABLED=true` switches them off
whatever it says. Everything else is the SDK's own: `OTEL_SERVICE_NAME` (default
`kundenportal`), `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_ENDPOINT` /
`_HEADERS` (OTLP over HTTP/protobuf), `OTEL_TRACES_SAMPLER` / `_ARG`, `OTEL_BSP_*`.

What is traced: each HTTP request (the ASGI middleware, outermost, so the time of every
step is in it; the GraphQL view adds the operation's name and engine as attributes)
and each SQL statement in it (the SQLAlchemy instrumentation, with the statement).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points

import sqlalchemy as sa
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from starlette.applications import Starlette

SERVICE = "kundenportal"
# The OTLP exporter installed is the HTTP/protobuf one; `otlp` means it.
_ALIASES = {"otlp": "otlp_proto_http"}


class TracingError(RuntimeError):
    pass


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    """The exporters the environment asks for; empty when traces are off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [name.strip() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    return [name for name in names if name and name != "none"]


def _exporter(name: str) -> SpanExporter:
    wanted = _ALIASES.get(name, name)
    for entry in entry_points(group="opentelemetry_traces_exporter"):
        if entry.name == wanted:
            exporter: SpanExporter = entry.load()()
            return exporter
    raise TracingError(f"OTEL_TRACES_EXPORTER: no exporter {name!r} is installed")


def provider_from_environment(environ: Mapping[str, str]) -> TracerProvider | None:
    """A tracer provider exporting where the OTEL_* variables say, or None (off).

    Raises:
        TracingError: an exporter is named that is not installed.
    """
    names = exporter_names(environ)
    if not names:
        return None
    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: SERVICE}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in names:
        exporter = _exporter(name)
        # The console's lines appear as the spans end; the others go out in batches.
        processor = SimpleSpanProcessor if name == "console" else BatchSpanProcessor
        provider.add_span_processor(processor(exporter))
    return provider


def trace_app(app: Starlette, provider: TracerProvider) -> None:
    """Every HTTP request a span (outermost middleware)."""
    app.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider)


def trace_engine(engine: sa.Engine, provider: TracerProvider) -> None:
    """Every SQL statement of the engine a span (once per process: the instrumentor is
    one; `untrace_engines` undoes it). The instrumentation declares SQLAlchemy < 2.1
    only, but the engine events it listens to are unchanged in 2.1 (the test of this
    module sees the statements' spans), so its version check is skipped."""
    SQLAlchemyInstrumentor().instrument(
        engine=engine, tracer_provider=provider, skip_dep_check=True
    )


def untrace_engines() -> None:
    SQLAlchemyInstrumentor().uninstrument()
