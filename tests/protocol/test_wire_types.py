"""The wire's basic types: the ids are plain strings at run time, and every alias is one name."""

from __future__ import annotations

from agentkit import protocol as p
from agentkit.protocol import wire_types


def test_ids_are_plain_strings_at_run_time() -> None:
    for new in (p.ItemId, p.CallId, p.ResponseId):
        value = new("x_1")
        assert type(value) is str and value == "x_1"


def test_the_package_and_the_dialects_share_the_one_dialect_and_json_names() -> None:
    from agentkit.protocol import dialects

    assert p.Dialect is dialects.Dialect is wire_types.Dialect
    assert p.JsonObject is wire_types.JsonObject
    assert p.JsonMapping is wire_types.JsonMapping
