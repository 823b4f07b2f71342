"""`agentkit.errors`: the tree drawn in the module docstring is the tree of classes, and each
exception keeps the fields a caller branches on."""

from __future__ import annotations

import re

import pytest

import agentkit
from agentkit import errors
from agentkit.errors import (
    AgentKitError,
    CompileError,
    ConfigError,
    ConnectionClosed,
    GuardrailTripped,
    ProviderError,
    ReconnectFailed,
    SessionLimitError,
    SourceLocation,
    ToolArgumentsError,
    ToolTimeoutError,
)


def drawn_tree() -> dict[str, str | None]:
    """Each class named in the docstring's tree, mapped to the class it hangs from."""
    assert errors.__doc__ is not None
    block = errors.__doc__.split("```")[1]
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in block.strip("\n").splitlines():
        match = re.match(r"^([│├└─\s]*)(\w+)", line)
        assert match is not None, line
        depth, name = len(match.group(1)) // 4, match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def test_the_docstring_tree_is_the_class_tree() -> None:
    exceptions = {
        name: obj
        for name in errors.__all__
        if isinstance(obj := getattr(errors, name), type) and issubclass(obj, BaseException)
    }
    tree = drawn_tree()
    assert set(tree) == set(exceptions)
    for name, parent in tree.items():
        base = exceptions[name].__bases__[0]
        assert base.__name__ == (parent or "Exception"), name


def test_every_exception_agentkit_exports_is_an_agentkit_error() -> None:
    exported = [
        getattr(agentkit, name)
        for name in agentkit.__all__
        if isinstance(getattr(agentkit, name), type)
        and issubclass(getattr(agentkit, name), BaseException)
    ]
    assert exported  # the top-level API does export its exceptions
    assert [e.__name__ for e in exported if not issubclass(e, AgentKitError)] == []
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, AgentKitError), name


def test_provider_error_keeps_the_wire_fields() -> None:
    raw = {"type": "error", "error": {"code": "session_expired"}}
    error = ProviderError(
        "60 min", type="invalid_request_error", code="session_expired", param="p", event_id="e1", raw=raw
    )
    assert (error.type, error.code, error.param, error.event_id, error.raw) == (
        "invalid_request_error",
        "session_expired",
        "p",
        "e1",
        raw,
    )
    assert str(error) == "session_expired: 60 min"
    assert str(ProviderError("boom", type="server_error")) == "server_error: boom"


def test_config_error_reads_as_a_link_to_the_field() -> None:
    error = ConfigError(
        "expected a list, got str",
        location=SourceLocation("agents.yaml", 12, 5),
        path="agents.sales.tools",
        expected="a list",
    )
    assert str(error) == "agents.yaml:12:5: agents.sales.tools: expected a list, got str"
    assert (error.detail, error.expected, error.location.line) == ("expected a list, got str", "a list", 12)  # type: ignore[union-attr]
    assert str(ConfigError("empty file")) == "empty file"


def test_the_other_errors_carry_their_fields_in_message_and_attributes() -> None:
    compile_error = CompileError("not in GA", field="temperature", dialect="ga")
    assert str(compile_error) == "temperature: not in GA (dialect 'ga')"
    assert (compile_error.field, compile_error.dialect) == ("temperature", "ga")
    closed = ConnectionClosed()
    assert (str(closed), closed.clean, closed.code) == ("connection closed", True, None)
    assert ConnectionClosed("gone", clean=False, code=1011).code == 1011
    assert ReconnectFailed("gave up", attempts=3).attempts == 3
    limit = SessionLimitError(2)
    assert limit.limit == 2 and "maximum of 2 concurrent sessions" in str(limit)
    timeout = ToolTimeoutError("lookup", 2.5)
    assert (str(timeout), timeout.tool_name, timeout.timeout) == ("tool 'lookup' timed out after 2.5s", "lookup", 2.5)
    tripped = GuardrailTripped("no_pii", {"matched": "ssn"})
    assert (str(tripped), tripped.details) == ("guardrail 'no_pii' tripped", {"matched": "ssn"})
    bad_args = ToolArgumentsError("lookup", "q: field required")
    assert str(bad_args) == "invalid arguments for tool 'lookup': q: field required"
    assert bad_args.message == "q: field required"


def test_a_cause_is_chained_and_one_except_catches_every_family() -> None:
    with pytest.raises(AgentKitError) as info:
        try:
            raise OSError("refused")
        except OSError as exc:
            raise ReconnectFailed("every attempt failed", attempts=1) from exc
    assert isinstance(info.value.__cause__, OSError)
