"""Every request made under impersonation leaves an audit row naming both people."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from gql.context import Context
from gql.domain import audit


class ImpersonationAudit(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if not isinstance(context, Context) or not context.actor.is_impersonated:
            return
        operation = self.execution_context.operation_type
        async with context.unit_of_work() as db:
            audit.record_by(
                db,
                context.actor,
                "impersonation.request",
                audit.Origin(context.client_ip, context.user_agent),
                {
                    "operation": self.execution_context.operation_name,
                    "type": operation.value if operation else None,
                    "session_id": str(context.actor.session_id),
                    "errors": len(getattr(self.execution_context.result, "errors", None) or []),
                },
            )
