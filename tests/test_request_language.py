"""The request's language reaches every message without being passed around: the context sets
it for the task serving the request (sigma_graphql/core/i18n.py use_lang), so concurrent
requests in different languages each get their own, and stored notifications stay Indonesian."""

from __future__ import annotations

import asyncio

from tests.support import Api, Factory
from tests.umkm_support import CREATE, valid_input


async def test_concurrent_requests_keep_their_own_language(api: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    data = valid_input()
    data["sektor"] = "Bukan Sektor"  # a rules error (resolvers/rules/umkm.py), nothing written

    async def ask(lang: str) -> str:
        resp = await api.as_(owner.token)(
            CREATE, {"input": data}, headers={"Accept-Language": lang}
        )
        errors = resp.ok()["createUmkm"]["userErrors"]
        assert [e["field"] for e in errors] == [["input", "sektor"]]
        return str(errors[0]["message"])

    langs = ["en", "id"] * 10
    messages = await asyncio.gather(*(ask(lang) for lang in langs))
    for lang, message in zip(langs, messages, strict=True):
        assert message.startswith("Unknown sector") == (lang == "en"), (lang, message)
