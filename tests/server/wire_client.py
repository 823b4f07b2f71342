"""A raw WebSocket test client that validates every server event against the `openai` types."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import orjson
import pybase64
from openai_conformance import validate_server_event
from websockets.asyncio.client import ClientConnection, connect

from agentkit import audio
from agentkit.server import Script

Dialect = Literal["ga", "beta"]


class WireClient:
    """Send client events, receive server events (each one validated strictly)."""

    def __init__(self, ws: ClientConnection, dialect: Dialect) -> None:
        self.ws = ws
        self.dialect = dialect
        self.events: list[dict[str, Any]] = []
        self._counter = 0

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        dialect: Dialect = "ga",
        key: str | None = "test-key",
        headers: dict[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
    ) -> WireClient:
        extra = dict(headers or {})
        if key is not None and not subprotocols:
            extra.setdefault("Authorization", f"Bearer {key}")
        if dialect == "beta" and "api-key" not in extra and not subprotocols:
            extra.setdefault("OpenAI-Beta", "realtime=v1")
        ws = await connect(url, additional_headers=extra, subprotocols=subprotocols, max_size=None)  # type: ignore[arg-type]
        return cls(ws, dialect)

    async def close(self) -> None:
        # Unread events pause the socket (websockets' receive queue is bounded), which would
        # hide the server's close frame; keep reading while the closing handshake runs.
        closing = asyncio.create_task(self.ws.close())
        with contextlib.suppress(Exception):
            while not closing.done():
                await asyncio.wait_for(self.ws.recv(), 1.0)
        await closing

    async def send(self, event: dict[str, Any]) -> str:
        self._counter += 1
        event_id = event.setdefault("event_id", f"client_{self._counter}")
        await self.ws.send(orjson.dumps(event).decode())
        return str(event_id)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        event: dict[str, Any] = orjson.loads(raw)
        validate_server_event(event, self.dialect)
        self.events.append(event)
        return event

    async def until(self, kind: str, timeout: float = 5.0, *, skip_errors: bool = False) -> dict[str, Any]:
        """Receive until an event of type `kind`; return it (earlier ones stay in `events`)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            event = await self.recv(max(0.01, left))
            if event["type"] == kind:
                return event
            if event["type"] == "error" and not skip_errors and kind != "error":
                raise AssertionError(f"unexpected error while waiting for {kind}: {event}")

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    async def append_audio(self, pcm16: bytes, *, fmt: audio.AudioFormat = "pcm16", chunk_ms: int = 100) -> None:
        data = audio.convert(pcm16, "pcm16", fmt) if fmt != "pcm16" else pcm16
        step = audio.bytes_for_ms(chunk_ms, fmt)
        for pos in range(0, len(data), step):
            await self.send({"type": "input_audio_buffer.append", "audio": pybase64.b64encode(data[pos : pos + step]).decode()})

    async def say(self, text: str, *, fmt: audio.AudioFormat = "pcm16") -> None:
        """Speak `text` as the caller: silence, synthetic speech, enough silence for the VAD."""
        pcm = audio.generate_silence(300) + audio.synthesize_speech(text, engine="synthetic") + audio.generate_silence(900)
        await self.append_audio(pcm, fmt=fmt)


def script_tools(script: Script) -> list[dict[str, Any]]:
    """Function tools for every tool a script calls or hands off to (so `when:` can hold)."""
    from agentkit.server import CallTool, Handoff

    names: dict[str, None] = {}

    def visit(steps: Iterable[object]) -> None:
        for step in steps:
            if isinstance(step, CallTool):
                names[step.name] = None
            elif isinstance(step, Handoff):
                names[step.tool_name] = None

    visit(script.greeting)
    for turn in script.turns:
        visit(turn.steps)
        for alternative in turn.alternatives:
            visit(alternative.steps)
    return [
        {"type": "function", "name": name, "description": f"{name} tool", "parameters": {"type": "object", "properties": {}}}
        for name in names
    ]


async def play_script(client: WireClient, script: Script, *, tool_output: str = "{}") -> list[str]:
    """Play a script's caller side against the server; return the assistant transcripts."""
    tools = script_tools(script)
    session: dict[str, Any] = {"tools": tools} if client.dialect == "beta" else {"type": "realtime", "tools": tools}
    if client.dialect == "ga":
        session["audio"] = {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}
    else:
        session["input_audio_transcription"] = {"model": "whisper-1"}
    await client.send({"type": "session.update", "session": session})
    await client.until("session.updated")
    transcripts: list[str] = []
    done_type = "response.output_audio_transcript.done" if client.dialect == "ga" else "response.audio_transcript.done"

    async def finish_response() -> None:
        while True:
            event = await client.until("response.done", timeout=10)
            pending = []
            for item in event["response"]["output"]:
                if item["type"] == "function_call":
                    pending.append(item)
            for e in client.events:
                if e["type"] == done_type and e not in seen:
                    seen.append(e)
                    transcripts.append(e["transcript"])
            if not pending:
                return
            for call in pending:
                await client.send({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call["call_id"], "output": tool_output}})
            await client.send({"type": "response.create"})

    seen: list[dict[str, Any]] = []
    if script.greeting:
        await client.send({"type": "response.create"})
        await finish_response()
    for turn in script.turns:
        if turn.mode == "text":
            await client.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": turn.user}]}})
            await client.send({"type": "response.create"})
        else:
            await client.say(turn.user)
        await finish_response()
    return transcripts


SCRIPT: dict[str, Any] = {"turns": [{"user": "Where is my order 42?", "steps": [{"say": "Let me check."}, {"call": "lookup_order", "arguments": {"order_id": "42"}}, {"say": "It shipped."}]}]}
