"""`agentkit.runtime.commands`: the work a supervisor asks for, as frozen values."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from triage import call_done, created, lookup, make

from agentkit.errors import ProviderError
from agentkit.runtime import commands
from agentkit.runtime.commands import CancelTool, CloseSession, Command, RunTool

MEMBERS = typing.get_args(Command)


def test_the_union_holds_every_command() -> None:
    assert {c.__name__ for c in MEMBERS} == set(commands.__all__) - {"Command"}


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: m.__name__)
def test_commands_are_frozen(member: type) -> None:
    assert member.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert "__slots__" in vars(member)


def test_a_command_carries_what_the_runtime_needs_to_run_it() -> None:
    sup = make()
    created(sup)
    call_done(sup, "call_1", "lookup", arguments='{"q": "z"}')
    call_done(sup, "call_2", "no_such_tool")
    first, second = sup.commands()
    assert first == RunTool("call_1", "lookup", '{"q": "z"}', lookup, sup.agent)  # type: ignore[arg-type]
    assert isinstance(second, RunTool) and second.tool is None  # the agent has no such tool
    assert CancelTool("c") == CancelTool("c", timed_out=False, output=None)
    error = ProviderError("gone", code="session_expired")
    assert CloseSession(error).error is error
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.name = "other"  # type: ignore[misc]
