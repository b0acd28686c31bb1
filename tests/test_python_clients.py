"""The Python client of the design card, gql, against a live server (issue 14, part 4): a query
and a mutation over HTTP (aiohttp transport), a subscription over graphql-transport-ws
(websockets transport), each as an application would write it.
"""

from __future__ import annotations

import asyncio

from gql import Client, GraphQLRequest, gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.websockets import WebsocketsTransport

from tests.fin_support import FLAG, fin_umkm, submit
from tests.support import Api, Factory, LiveServer, wait_subscribed

WAIT_S = 60  # a bound on a hung client, never a measure of speed


def http_client(server: LiveServer, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(transport=AIOHTTPTransport(url=server.url, headers=headers, ssl=False))


async def test_gql_query(server: LiveServer) -> None:
    async with http_client(server) as session:
        result = await session.execute(
            GraphQLRequest(
                "query Stats($t: Int!) { today sectorStats(tahun: $t) { sektor } }",
                variable_values={"t": 2024},
            )
        )
    assert result["today"] and isinstance(result["sectorStats"], list)


async def test_gql_mutation_reports_user_errors(
    server: LiveServer, api: Api, factory: Factory
) -> None:
    owner, staff = await factory.account(), await factory.account("PEJABAT")
    doc = await fin_umkm(factory, owner)
    await submit(api, owner.token, doc["_id"], 2016, 3, 3_000_000)
    variables = {"input": {"umkmId": str(doc["_id"]), "tahun": 2016, "bulan": 3, "reason": "x"}}
    async with http_client(server, staff.token) as session:
        result = await session.execute(GraphQLRequest(FLAG, variable_values=variables))
    payload = result["flagFinancialLog"]
    assert payload["log"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["TOO_SHORT"]
    assert "reason" in payload["userErrors"][0]["field"]
    assert payload["userErrors"][0]["message"]


async def test_gql_subscription(server: LiveServer, api: Api, factory: Factory) -> None:
    owner, staff = await factory.account(), await factory.account("PEJABAT")
    doc = await fin_umkm(factory, owner)
    await submit(api, owner.token, doc["_id"], 2016, 4, 4_000_000)
    transport = WebsocketsTransport(
        url=server.ws_url,
        init_payload={"authorization": f"Bearer {owner.token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=transport) as session:
        events = session.subscribe(
            gql("subscription { notificationAdded { type tahun bulan umkm { id } } }")
        )
        first = asyncio.ensure_future(events.__anext__())
        await wait_subscribed(server, owner.id)
        variables = {
            "input": {"umkmId": str(doc["_id"]), "tahun": 2016, "bulan": 4, "reason": "x" * 20}
        }
        flagged = await api.as_(staff.token)(FLAG, variables)
        assert flagged.ok()["flagFinancialLog"]["userErrors"] == []
        event = (await asyncio.wait_for(first, WAIT_S))["notificationAdded"]
        await events.aclose()
    assert event == {
        "type": "FINANCIAL_FLAGGED",
        "tahun": 2016,
        "bulan": 4,
        "umkm": {"id": str(doc["_id"])},
    }
