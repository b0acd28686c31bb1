"""Validation results kept by document identity (sigma_graphql/execution/validation_cache.py):
the same answers as graphql-core's validate, computed once per parsed document and rule list."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse, specified_rules
from graphql.validation import NoDeprecatedCustomRule

from schema.build import build_schema
from sigma_graphql.core.settings import Settings
from sigma_graphql.execution import validation_cache
from sigma_graphql.execution.validation_cache import _ByIdentity, validate_document

SCHEMA = build_schema(Settings())._schema
RULES = tuple(specified_rules)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    original = validation_cache.validate_document

    def counting(schema: Any, document: Any, rules: Any, hide_suggestions: bool = False) -> Any:
        seen.append(document)
        return original(schema, document, rules, hide_suggestions)

    monkeypatch.setattr(validation_cache, "validate_document", counting)
    return seen


def test_a_document_is_validated_once_per_rule_list(validations: list[Any]) -> None:
    cache = _ByIdentity(maxsize=8, quiet=False)
    good = parse("{ today }")
    bad = parse("{ umkms { nope } }")
    assert cache(SCHEMA, good, RULES) == [] and cache(SCHEMA, good, RULES) == []
    errors = cache(SCHEMA, bad, RULES)
    assert [e.message for e in errors] == [e.message for e in validate_document(SCHEMA, bad, RULES)]
    assert cache(SCHEMA, bad, RULES) is errors
    assert validations == [good, bad]
    # Another rule list is another answer; an equal text parsed again is another document.
    cache(SCHEMA, good, (*RULES, NoDeprecatedCustomRule))
    again = parse("{ today }")
    cache(SCHEMA, again, RULES)
    assert validations == [good, bad, good, again]


def test_suggestions_are_hidden_only_when_quiet() -> None:
    typo = parse("{ umkm(id: 1) { namaUsah } }")
    loud = _ByIdentity(maxsize=8, quiet=False)(SCHEMA, typo, RULES)
    quiet = _ByIdentity(maxsize=8, quiet=True)(SCHEMA, typo, RULES)
    assert any("Did you mean" in e.message for e in loud)
    assert quiet and not any("Did you mean" in e.message for e in quiet)


def test_the_oldest_document_leaves_first(validations: list[Any]) -> None:
    cache = _ByIdentity(maxsize=2, quiet=False)
    documents = [parse("{ today }") for _ in range(3)]
    for document in documents:
        cache(SCHEMA, document, RULES)
    cache(SCHEMA, documents[2], RULES)
    cache(SCHEMA, documents[1], RULES)
    assert len(validations) == 3  # both still kept
    cache(SCHEMA, documents[0], RULES)
    assert len(validations) == 4  # dropped, validated again
