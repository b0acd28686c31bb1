"""GetOperation() of the GraphQL specification: a document with several operations needs an
operation name.

Strawberry runs the first operation of such a document when no name is given; the
specification (and GraphQL over HTTP, tests/test_graphql_over_http.py) makes it a request error.
Listed after ValidationCache in schema/build.py, so the error joins the validation errors
before Strawberry decides whether to execute.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

MESSAGE = "Must provide operation name if query contains multiple operations."


class RequireOperationName(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        # ExecutionContext.operation_name falls back to the first operation's name; the name the
        # client gave is kept apart.
        provided = getattr(ec, "_provided_operation_name", None)
        if document is not None and provided is None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                ec.pre_execution_errors = [
                    *(ec.pre_execution_errors or []),
                    GraphQLError(MESSAGE, operations),
                ]
        yield
