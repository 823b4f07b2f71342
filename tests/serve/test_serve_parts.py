"""The parts of `agentkit serve`: the provider's derived endpoints, the page's events, the
event channel, the command line, and `import agentkit` staying free of the web stack."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import typing

import anyio
import pytest
from serve_harness import DESK, http

from agentkit import events as e
from agentkit.cli import main
from agentkit.errors import AgentKitError
from agentkit.protocol.wire_types import CallId, ItemId
from agentkit.serve import EventChannel, Provider, page_event
from agentkit.serve.channel import IGNORED_EVENTS, PAGE_EVENTS


def test_the_provider_derives_every_endpoint_from_the_realtime_url() -> None:
    openai = Provider("wss://api.openai.com/v1/realtime?model=gpt-realtime", "sk-x", "gpt-realtime", kind="openai")
    assert openai.rest_base == "https://api.openai.com/v1"
    assert openai.calls_url == "https://api.openai.com/v1/realtime/calls"
    assert openai.client_secrets_url == "https://api.openai.com/v1/realtime/client_secrets"
    assert openai.sideband_url("rtc_1") == "wss://api.openai.com/v1/realtime?call_id=rtc_1"
    azure = Provider(
        "wss://res.openai.azure.com/openai/v1/realtime?model=dep", None, "dep",
        headers={"api-key": "az-key"}, kind="azure",
    )
    assert azure.client_secrets_url == "https://res.openai.azure.com/openai/v1/realtime/client_secrets"
    assert azure.sideband_url("rtc_2") == "wss://res.openai.azure.com/openai/v1/realtime?call_id=rtc_2"
    assert azure.auth_headers() == {"api-key": "az-key"}
    assert openai.auth_headers() == {"Authorization": "Bearer sk-x"}
    assert "sk-x" not in repr(openai) and "az-key" not in repr(azure)


def test_every_session_event_is_either_sent_to_the_page_or_deliberately_not() -> None:
    members = set(typing.get_args(e.SessionEvent))
    assert set(PAGE_EVENTS) | IGNORED_EVENTS == members
    assert not set(PAGE_EVENTS) & IGNORED_EVENTS


def test_tool_progress_and_approvals_reach_the_page_as_json() -> None:
    progress = page_event(e.ToolCallProgress(CallId("call_1"), "lookup_order", '{"order_id": "4', "desk"))
    assert progress == {
        "type": "tool_call_progress", "call_id": "call_1", "tool": "lookup_order",
        "arguments": '{"order_id": "4', "agent": "desk",
    }
    approval = page_event(e.ToolApprovalRequired(CallId("call_2"), "issue_refund", "{}", "refunds", 30.0, "reject"))
    assert approval is not None and approval["type"] == "tool_approval_required" and approval["default"] == "reject"
    failed = page_event(e.ErrorEvent(AgentKitError("boom"), "server_error"))
    assert failed == {"type": "error", "message": "boom", "code": "server_error"}
    assert page_event(e.UserTranscript(ItemId("item_1"), "hello")) is None  # the page has it first-hand


async def test_the_channel_replays_what_a_late_subscriber_missed_then_streams_until_the_end() -> None:
    channel = EventChannel()
    channel.publish({"type": "agent", "agent": "desk"})
    received: list[bytes] = []

    async def read() -> None:
        async for chunk in channel.stream():
            received.append(chunk)

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        channel.publish({"type": "handoff", "from_agent": "desk", "to_agent": "refunds", "call_id": None})
        channel.close("hung up")
    data = [json.loads(chunk[6:]) for chunk in received if chunk.startswith(b"data: ")]
    assert [d["type"] for d in data] == ["agent", "handoff", "ended"]
    assert data[-1]["reason"] == "hung up"
    late = [chunk async for chunk in channel.stream()]  # after the end: the record, then done
    assert len([c for c in late if c.startswith(b"data: ")]) == 3


def test_import_agentkit_does_not_load_the_web_stack() -> None:
    code = "import sys, agentkit, agentkit.cli; print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_serve_refuses_an_expiry_outside_the_services_limits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(DESK), "--local", "--key-expiry", "5"]) == 1
    assert "--key-expiry 5: expected 10 to 7200 seconds" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_agentkit_serve_serves_the_page_against_the_local_server_until_interrupted() -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentkit", "serve", str(DESK), "--port", str(port), "--pace", "fast",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(20):
            while b"Application startup complete" not in (line := await process.stderr.readline()):
                assert line, "agentkit serve exited early"
        config = (await http("GET", f"http://127.0.0.1:{port}/api/config")).json()
        assert config["starting_agent"] == "desk" and config["provider"]["kind"] == "local"
        assert [a["name"] for a in config["agents"]] == ["desk", "refunds"]
        page = await http("GET", f"http://127.0.0.1:{port}/")
        assert page.status == 200 and b"/static/app.js" in page.body
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            await process.wait()
    assert process.returncode in (0, 130)
