"""Subscriptions run over the WebSocket only (graphql-transport-ws, see
sigma_graphql/server/app.py).

Over HTTP Strawberry executed a subscription like a query, the field returned a stream where a
value was due, and every such request (even an anonymous one, refused anyway) ended as
INTERNAL_SERVER_ERROR with an ERROR traceback in the log (issue 11, finding 7). It is a client
mistake: BAD_USER_INPUT naming the transport, before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from sigma_graphql.core import errors
from sigma_graphql.core.i18n import register, t

register(
    {
        "subscription_needs_websocket": (
            "Subscription hanya tersedia lewat WebSocket (protokol graphql-transport-ws)",
            "Subscriptions are only available over a WebSocket (graphql-transport-ws protocol)",
        )
    }
)


class SubscriptionsOverWebSocket(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        request = getattr(ec.context, "request", None)
        over_websocket = request is not None and request.scope.get("type") == "websocket"
        if ec.operation_type is OperationType.SUBSCRIPTION and not over_websocket:
            lang = getattr(ec.context, "lang", "id")
            ec.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    errors.AppError(t("subscription_needs_websocket", lang), errors.BAD_USER_INPUT)
                ],
            )
        yield
