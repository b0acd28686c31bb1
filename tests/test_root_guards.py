"""Root guards come from the permission table (issue 13, item 4).

The schema build attaches every root field's guard from ROOT_ACCESS and refuses to build when
a root field is not listed there, or when the table lists a field the schema does not have.
Over HTTP and WebSocket, a PUBLIC call of a staff field is UNAUTHENTICATED and an owner's call
is FORBIDDEN.
"""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from graphql import GraphQLObjectType
from strawberry.permission import PermissionExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from schema.build import RootAccessMismatch, build_schema
from schema.root import Query
from sigma_graphql.core.settings import Settings
from sigma_graphql.core.viewer import Audience
from sigma_graphql.permissions import ANY, ROOT_ACCESS, Allow
from tests.support import Api, Factory, LiveServer


@strawberry.type(name="Query")
class QueryWithUnlistedField(Query):
    @strawberry.field
    def secret_count(self) -> int:
        return 42


@strawberry.type(name="Mutation")
class MutationMissingListedFields:
    @strawberry.mutation
    def login(self) -> bool:
        return False


def test_an_unlisted_root_field_refuses_to_build() -> None:
    with pytest.raises(RootAccessMismatch) as refused:
        build_schema(Settings(), query=QueryWithUnlistedField)
    message = str(refused.value)
    assert "root fields missing from ROOT_ACCESS: Query.secretCount" in message
    assert "sigma_graphql/permissions.py" in message
    assert "without a root field" not in message  # the rest of the table still matches


def test_a_table_entry_without_its_field_refuses_to_build() -> None:
    with pytest.raises(RootAccessMismatch) as refused:
        build_schema(Settings(), mutation=MutationMissingListedFields)
    message = str(refused.value)
    assert "ROOT_ACCESS entries without a root field: Mutation.approveUmkm" in message
    assert "Mutation.login" not in message
    assert "missing from ROOT_ACCESS" not in message


def _root_fields(fast: bool) -> dict[str, StrawberryField]:
    schema = build_schema(Settings(fast_execution=fast))._schema
    found: dict[str, StrawberryField] = {}
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        assert isinstance(root, GraphQLObjectType)
        for name, gql_field in root.fields.items():
            definition = (gql_field.extensions or {})[GraphQLCoreConverter.DEFINITION_BACKREF]
            assert isinstance(definition, StrawberryField)
            found[f"{root.name}.{name}"] = definition
    return found


def _audiences(field: StrawberryField) -> frozenset[Audience]:
    """The audiences the field's guard admits (ANY when it has none)."""
    if not field.permission_classes:
        assert field.extensions == []  # no extension chain: the fast path keeps the field
        return ANY
    [guard] = field.permission_classes
    assert issubclass(guard, Allow)
    [extension] = field.extensions
    assert isinstance(extension, PermissionExtension)
    return guard.audiences


@pytest.mark.parametrize("fast", [True, False])
def test_every_served_root_field_carries_its_guard(fast: bool) -> None:
    fields = _root_fields(fast)
    assert fields.keys() == ROOT_ACCESS.keys()
    assert ROOT_ACCESS["Query.today"] == ANY
    for operation, field in fields.items():
        assert _audiences(field) == ROOT_ACCESS[operation], operation
    # Building again (every test server builds its own schema) attaches the same guards once.
    again = _root_fields(fast)
    assert {op: _audiences(f) for op, f in again.items()} == ROOT_ACCESS


# Staff-only root fields of each kind, with the smallest valid selection.
STAFF_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("{ verificationTasks { nodes { id } } }", {}),
    ("{ officialDashboard { __typename } }", {}),
    ("{ topGrowers(tahun: 2025) { __typename } }", {}),
    (
        "mutation($id: ID!) { approveUmkm(id: $id) { userErrors { code } } }",
        {"id": "00000000-0000-4000-8000-000000000000"},
    ),
    (
        "mutation($id: ID!, $r: String!) { rejectUmkm(id: $id, reason: $r) { umkm { id } } }",
        {"id": "00000000-0000-4000-8000-000000000000", "r": "alasan penolakan yang cukup"},
    ),
]


def _codes(response: Any) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in response.errors]


@pytest.mark.parametrize(("document", "variables"), STAFF_CALLS)
async def test_staff_fields_refuse_public_and_owner(
    api: Api, factory: Factory, document: str, variables: dict[str, Any]
) -> None:
    owner = await factory.account("UMKM_OWNER")
    public = await api(document, variables)
    assert public.data is None and _codes(public) == ["UNAUTHENTICATED"]
    as_owner = await api.as_(owner.token)(document, variables)
    assert as_owner.data is None and _codes(as_owner) == ["FORBIDDEN"]


async def _subscribe(server: LiveServer, token: str | None, document: str) -> None:
    init = {"authorization": f"Bearer {token}"} if token else {}
    transport = WebsocketsTransport(
        url=server.ws_url,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=init,
    )
    async with Client(transport=transport) as session:
        async for _ in session.subscribe(gql(document)):
            break


async def test_a_staff_subscription_refuses_public_and_owner(
    server: LiveServer, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    document = "subscription { verificationTaskAdded { id } }"
    for token, code in ((None, "UNAUTHENTICATED"), (owner.token, "FORBIDDEN")):
        with pytest.raises(TransportQueryError) as refused:
            await _subscribe(server, token, document)
        assert refused.value.errors is not None
        assert [e["extensions"]["code"] for e in refused.value.errors] == [code]
