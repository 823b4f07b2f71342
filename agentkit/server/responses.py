"""Responses: generation, paced planning, completion and cancellation.

`Responses.start` asks the `ResponseModel` for the outputs and plans the whole response up
front as timed events in the `Outbox` (audio deltas one chunk apart, transcript words as
their audio starts: the pacing is in the due times). As the outbox releases tracked events,
`on_release` records how far each output got, so `cancel` (client `response.cancel`, or a
barge-in) closes the response with exactly the audio and transcript the client received,
and `response.done` fills in usage when it goes out.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pybase64

from .. import audio
from ..audio import AudioFormat, SpeechEngine
from ..protocol.wire_types import JsonObject
from .errors import ClientError
from .items import Conversation, Item, entries, validate_item
from .mcp_hosted import HostedMcp
from .model import FunctionCall, Message, ResponseModel, ResponseRequest
from .outbox import Out, Outbox, copy_json
from .session_config import (
    FORMAT_OBJECTS,
    SessionOptions,
    check_modalities,
    check_tools,
    format_name,
)

__all__ = ["OutputPlan", "Response", "Responses", "spoken"]


@dataclass
class OutputPlan:
    """One output item of a response, as planned, and how much of it was released."""

    item: JsonObject
    kind: Literal["audio", "text", "function_call", "mcp"]
    audio: bytes = b""
    transcript: str = ""
    words: tuple[str, ...] = ()
    word_starts_ms: tuple[float, ...] = ()
    announced: bool = False
    released_bytes: int = 0
    released_chars: int = 0


@dataclass
class Response:
    """One response of the session (default conversation or out of band)."""

    id: str
    base: float
    """When the first output goes out (the request's time plus the model's latency)."""
    out_of_band: bool
    conversation_id: str | None
    modalities: list[str]
    audio_format: AudioFormat
    voice: Any
    metadata: Any
    max_output_tokens: Any
    outputs: list[OutputPlan] = field(default_factory=list)
    audio_ms: float = 0.0
    input_tokens: int = 0
    done: bool = False


class Responses:
    """Every response of a session, the active one of the default conversation, and the
    rate-limit counters they use up."""

    def __init__(
        self,
        outbox: Outbox,
        conversation: Conversation,
        model: ResponseModel,
        options: SessionOptions,
        conversation_id: str,
        on_heard_all: Callable[[float], None],
        mcp: HostedMcp | None = None,
    ) -> None:
        """`on_heard_all(remaining_ms)`: the default conversation's response finished; the
        user will have heard all of it `remaining_ms` of input audio from now."""
        self._outbox = outbox
        self._conversation = conversation
        self._model = model
        self._options = options
        self._conversation_id = conversation_id
        self._on_heard_all = on_heard_all
        self.mcp = mcp if mcp is not None else HostedMcp(outbox, conversation)
        """The session's remote MCP servers (`server/mcp_hosted.py`)."""
        self.mcp.on_response_ready = self._schedule_done
        self.by_id: dict[str, Response] = {}
        self.active: Response | None = None
        self.audio_produced = False
        self._requests_used = 0
        self._tokens_used = 0
        self._latency = options.effective_latency()
        self._latency_draws = random.Random(self._latency.seed)
        outbox.on_release = self._on_release

    def _next_latency_s(self) -> float:
        """The model's delay before this response's first output, in seconds."""
        latency = self._latency
        if latency.min_ms == latency.max_ms:
            return latency.min_ms / 1000
        return self._latency_draws.uniform(latency.min_ms, latency.max_ms) / 1000

    def busy(self) -> bool:
        """Whether the default conversation has a response under way."""
        active = self.active
        return active is not None and not active.done

    # --- starting ----------------------------------------------------------------------------

    def start(self, params: JsonObject, now: float, session: JsonObject, idle: bool = False) -> None:
        """`response.create` with `params` (also VAD's and the idle timeout's responses)."""
        self._outbox.release_due(now)
        conversation = params.get("conversation", "auto")
        out_of_band = conversation == "none"
        if not out_of_band and self.active is not None and not self.active.done:
            raise ClientError(
                f"Conversation already has an active response in progress: {self.active.id}. "
                "Wait until the response is finished before creating a new one.",
                "conversation_already_has_active_response",
            )
        modalities = check_modalities(params.get("output_modalities"), "response.output_modalities") or session["output_modalities"]
        instructions = params.get("instructions")
        if instructions is None:
            instructions = session["instructions"]
        tools = check_tools(params["tools"], "response.tools") if "tools" in params else session["tools"]
        audio_params = (params.get("audio") or {}).get("output") or {}
        if audio_params.get("format"):
            fmt = format_name(audio_params["format"], "response.audio.output.format")
        else:
            fmt = format_name(session["audio"]["output"]["format"], "session.audio.output.format")
        voice = audio_params.get("voice") or session["audio"]["output"]["voice"]
        if isinstance(voice, dict):
            # A custom voice (`{"id": "voice_..."}`) is named by its id on the response object,
            # whose `voice` is a string in the service's schema.
            voice = voice["id"]
        metadata = params.get("metadata")
        if "input" in params:
            context = self._response_input(params.get("input") or [])
        else:
            context = self._conversation.in_order()
        request = ResponseRequest(
            instructions=instructions,
            tools=tuple(t.get("name", "") for t in tools if t.get("type", "function") == "function") + self.mcp.tool_names(tools),
            entries=entries(context),
            out_of_band=out_of_band,
            idle_timeout=idle,
            metadata=metadata,
            response_instructions=params.get("instructions") if isinstance(params.get("instructions"), str) else None,
        )
        outputs = self._model.respond(request)
        response = Response(
            id=self._outbox.new_id("resp"),
            # The outputs start after the model's latency; `response.created` goes out now.
            base=now + self._next_latency_s(),
            out_of_band=out_of_band,
            conversation_id=None if out_of_band else self._conversation_id,
            modalities=list(modalities),
            audio_format=fmt,
            voice=voice,
            metadata=metadata,
            max_output_tokens=params.get("max_output_tokens", session.get("max_output_tokens", "inf")),
            input_tokens=sum(max(1, len(i.heard) // 4) for i in context) + len(instructions) // 4,
        )
        self.by_id[response.id] = response
        if not out_of_band:
            self.active = response
        self._plan(response, outputs, now, tools)

    def _response_input(self, items: Any) -> list[Item]:
        if not isinstance(items, list):
            raise ClientError("Invalid type for 'response.input'.", "invalid_type", "response.input")
        context: list[Item] = []
        for index, data in enumerate(items):
            if isinstance(data, dict) and data.get("type") == "item_reference":
                ref = self._conversation.items.get(data.get("id", ""))
                if ref is None:
                    raise ClientError(f"Item with item_id '{data.get('id')}' not found.", "item_not_found", f"response.input[{index}].id")
                context.append(ref)
            elif isinstance(data, dict):
                item = validate_item(data, f"response.input[{index}]", self._outbox.new_id)
                heard = " ".join(p.get("text") or p.get("transcript") or "" for p in item.get("content", []))
                context.append(Item(item, heard=heard.strip()))
            else:
                raise ClientError(f"Invalid value for 'response.input[{index}]'.", "invalid_value", f"response.input[{index}]")
        return context

    def _response_object(self, response: Response, status: str, output: list[JsonObject], usage: JsonObject | None = None, status_details: JsonObject | None = None) -> JsonObject:
        return {
            "id": response.id,
            "object": "realtime.response",
            "status": status,
            "status_details": status_details,
            "output": output,
            "conversation_id": response.conversation_id,
            "output_modalities": response.modalities,
            "max_output_tokens": response.max_output_tokens,
            "audio": {"output": {"format": dict(FORMAT_OBJECTS[response.audio_format]), "voice": response.voice}},
            "usage": usage,
            "metadata": response.metadata,
        }

    # --- planning (the pacing is in the due times) ------------------------------------------

    def _plan(self, response: Response, outputs: Sequence[Message | FunctionCall], now: float, tools: Sequence[JsonObject] = ()) -> None:
        """Lay out the whole response as timed events (the pacing is in the due times)."""
        outbox = self._outbox
        new_id = outbox.new_id
        schedule = outbox.schedule
        fast = self._options.pace == "fast"
        rid = response.id
        outbox.emit({"type": "response.created", "response": self._response_object(response, "in_progress", [])}, now)
        self._requests_used += 1
        outbox.emit({"type": "rate_limits.updated", "rate_limits": self.rate_limits()}, now)
        offset = 0.0  # ms from response start
        previous = self._conversation.last_id()
        for index, output in enumerate(outputs):
            hosted = self.mcp.server_for(output.name, tools) if isinstance(output, FunctionCall) else None
            if hosted is not None and isinstance(output, FunctionCall):
                # A call of a remote MCP server's tool: the server runs it (a call ends the
                # response, which waits for its answer when it is a call and not an approval).
                hosted_item, waiting = self.mcp.plan(response, index, output, hosted, previous)
                response.outputs.append(OutputPlan(item=hosted_item, kind="mcp"))
                if waiting:
                    outbox.release_due(now)
                    return
                previous = hosted_item["id"] if not response.out_of_band else previous
                continue
            item_id = new_id("item")
            if isinstance(output, FunctionCall):
                call_id = new_id("call")
                self._conversation.call_ids.add(call_id)
                item: JsonObject = {"id": item_id, "object": "realtime.item", "type": "function_call", "status": "in_progress", "name": output.name, "call_id": call_id, "arguments": ""}
                plan = OutputPlan(item=item, kind="function_call")
            else:
                text_mode = response.modalities == ["text"]
                item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
                plan = OutputPlan(item=item, kind="text" if text_mode else "audio", transcript=output.text)
            response.outputs.append(plan)
            at = response.base + (0.0 if fast else offset / 1000)
            schedule(at, {"type": "response.output_item.added", "response_id": rid, "output_index": index, "item": copy_json(item)}, rid, ("announce", index))
            if not response.out_of_band:
                schedule(at, {"type": "conversation.item.added", "item": copy_json(item), "previous_item_id": previous}, rid)
            if isinstance(output, FunctionCall):
                args = output.arguments
                half = len(args) // 2
                for piece in (args[:half], args[half:]):
                    if piece:
                        schedule(at, {"type": "response.function_call_arguments.delta", "response_id": rid, "item_id": item_id, "output_index": index, "call_id": call_id, "delta": piece}, rid)
                schedule(at, {"type": "response.function_call_arguments.done", "response_id": rid, "item_id": item_id, "output_index": index, "call_id": call_id, "name": output.name, "arguments": args}, rid)
                item.update(status="completed", arguments=args)
            elif plan.kind == "text":
                schedule(at, {"type": "response.content_part.added", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "part": {"type": "text", "text": ""}}, rid)
                words = output.text.split(" ")
                sent = 0
                for w, word in enumerate(words):
                    delta = word if w == 0 else " " + word
                    sent += len(delta)
                    schedule(at, {"type": "response.output_text.delta", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "delta": delta}, rid, ("text", index, sent))
                schedule(at, {"type": "response.output_text.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "text": output.text}, rid)
                schedule(at, {"type": "response.content_part.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "part": {"type": "text", "text": output.text}}, rid)
                item.update(status="completed", content=[{"type": "output_text", "text": output.text}])
            else:
                offset = self._plan_audio(response, plan, index, offset, fast)
                at = response.base + (0.0 if fast else offset / 1000)
                item.update(status="completed", content=[{"type": "output_audio", "transcript": output.text}])
            schedule(at, {"type": "response.output_item.done", "response_id": rid, "output_index": index, "item": copy_json(item)}, rid)
            if not response.out_of_band:
                schedule(at, {"type": "conversation.item.done", "item": copy_json(item), "previous_item_id": previous}, rid)
                # The item joins the conversation now (so retrieve works mid-response); its
                # content is the planned one until the response ends or is cut short.
                stored = Item(copy_json(item), audio=plan.audio, audio_format=response.audio_format, heard=plan.transcript, word_starts_ms=plan.word_starts_ms)
                stored.data["status"] = "in_progress"
                self._conversation.insert(stored, previous)
                previous = item_id
        self._schedule_done(response, response.base + (0.0 if fast else offset / 1000))
        outbox.release_due(now)

    def _schedule_done(self, response: Response, at: float) -> None:
        """`response.done` at `at` (filled in by `_finish` when it goes out)."""
        self._outbox.schedule(at, {"type": "response.done", "response": {}}, response.id, ("done",))

    def _plan_audio(self, response: Response, plan: OutputPlan, index: int, offset: float, fast: bool) -> float:
        schedule = self._outbox.schedule
        options = self._options
        rid, item_id = response.id, plan.item["id"]
        fmt = response.audio_format
        encoded, chunks_b64 = spoken(plan.transcript, options.words_per_minute, fmt, options.audio_chunk_ms, options.speech_engine)
        plan.audio = encoded
        total_ms = audio.duration_ms(len(encoded), fmt)
        words = plan.transcript.split(" ") if plan.transcript.strip() else []
        per_word = total_ms / max(1, len(words))
        plan.words = tuple(words)
        plan.word_starts_ms = tuple(i * per_word for i in range(len(words)))
        start = response.base + (0.0 if fast else offset / 1000)
        schedule(start, {"type": "response.content_part.added", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "part": {"type": "audio", "transcript": ""}}, rid)
        chunk = audio.bytes_for_ms(options.audio_chunk_ms, fmt)
        timeline: list[tuple[float, int, JsonObject, tuple[Any, ...]]] = []
        for n, pos in enumerate(range(0, len(encoded), chunk)):
            t = float(n * options.audio_chunk_ms)
            timeline.append((t, 0, {"type": "response.output_audio.delta", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "delta": chunks_b64[n]}, ("audio", index, min(len(encoded), pos + chunk))))
        chars = 0
        for w, word in enumerate(words):
            delta = word if w == 0 else " " + word
            chars += len(delta)
            timeline.append((plan.word_starts_ms[w], 1, {"type": "response.output_audio_transcript.delta", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "delta": delta}, ("transcript", index, chars)))
        timeline.sort(key=lambda entry: (entry[0], entry[1]))
        for at_ms, _, event, track in timeline:
            schedule(response.base + (0.0 if fast else (offset + at_ms) / 1000), event, rid, track)
        last_chunk = float(max(0, math.ceil(len(encoded) / chunk) - 1) * options.audio_chunk_ms)
        end = offset + last_chunk
        at = response.base + (0.0 if fast else end / 1000)
        schedule(at, {"type": "response.output_audio.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0}, rid)
        schedule(at, {"type": "response.output_audio_transcript.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "transcript": plan.transcript}, rid)
        schedule(at, {"type": "response.content_part.done", "response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0, "part": {"type": "audio", "transcript": plan.transcript}}, rid)
        response.audio_ms += total_ms
        return end

    # --- release, completion, cancellation --------------------------------------------------

    def rate_limits(self) -> list[JsonObject]:
        """The `rate_limits` of a `rate_limits.updated` event, as used so far."""
        options = self._options
        return [
            {"name": "requests", "limit": options.request_limit, "remaining": max(0, options.request_limit - self._requests_used), "reset_seconds": 0.012},
            {"name": "tokens", "limit": options.token_limit, "remaining": max(0, options.token_limit - self._tokens_used), "reset_seconds": 0.3},
        ]

    def exhaust(self) -> None:
        """Use up every request and token (the `rate_limit` fault)."""
        self._requests_used = self._options.request_limit
        self._tokens_used = self._options.token_limit

    def _on_release(self, out: Out, due: float) -> None:
        response = self.by_id[out.response_id or ""]
        track = out.track
        assert track is not None
        kind = track[0]
        if kind == "audio":
            response.outputs[track[1]].released_bytes = track[2]
            self.audio_produced = True
        elif kind in ("transcript", "text"):
            response.outputs[track[1]].released_chars = track[2]
        elif kind == "announce":
            response.outputs[track[1]].announced = True
        elif kind == "done":
            self._finish(response, out.event, due)

    def _usage(self, response: Response, output_text: str, audio_ms: float) -> JsonObject:
        text_tokens = max(0, len(output_text) // 4)
        audio_tokens = int(audio_ms / 50)
        output_tokens = text_tokens + audio_tokens
        self._tokens_used += output_tokens + response.input_tokens
        return {
            "total_tokens": response.input_tokens + output_tokens,
            "input_tokens": response.input_tokens,
            "output_tokens": output_tokens,
            "input_token_details": {"text_tokens": response.input_tokens, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 0, "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0}},
            "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
        }

    def _finish(self, response: Response, event: JsonObject, released_at: float) -> None:
        """`response.done` is going out: fill it in and settle the conversation."""
        response.done = True
        output = [copy_json(plan.item) for plan in response.outputs]
        items = self._conversation.items
        for plan in response.outputs:
            stored = items.get(plan.item["id"])
            if stored is not None:
                stored.data["status"] = "completed"
        text = " ".join(p.transcript for p in response.outputs)
        event["response"] = self._response_object(response, "completed", output, self._usage(response, text, response.audio_ms))
        if self.active is response:
            self.active = None
            # Idle timeout counts from when the user has heard the whole answer.
            self._on_heard_all(max(0.0, response.audio_ms - (released_at - response.base) * 1000))

    def cancel(self, response: Response, reason: str, now: float) -> None:
        """Stop a response where the client is: close what was announced with what was sent."""
        outbox = self._outbox
        emit = outbox.emit
        outbox.release_due(now)
        if response.done:
            return
        outbox.drop_response(response.id)
        items = self._conversation.items
        rid = response.id
        output: list[JsonObject] = []
        for index, plan in enumerate(response.outputs):
            item_id = plan.item["id"]
            if not plan.announced:
                self._conversation.remove(item_id)
                continue
            item = plan.item
            if plan.kind == "audio":
                heard_audio = plan.audio[: plan.released_bytes]
                transcript = plan.transcript[: plan.released_chars]
                base = {"response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0}
                emit({"type": "response.output_audio.done", **base}, now)
                emit({"type": "response.output_audio_transcript.done", **base, "transcript": transcript}, now)
                emit({"type": "response.content_part.done", **base, "part": {"type": "audio", "transcript": transcript}}, now)
                item = {**item, "status": "incomplete", "content": [{"type": "output_audio", "transcript": transcript}]}
                stored = items.get(item_id)
                if stored is not None:
                    stored.audio = heard_audio
                    stored.heard = transcript
            elif plan.kind == "text":
                text = plan.transcript[: plan.released_chars]
                base = {"response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0}
                emit({"type": "response.output_text.done", **base, "text": text}, now)
                emit({"type": "response.content_part.done", **base, "part": {"type": "text", "text": text}}, now)
                item = {**item, "status": "incomplete", "content": [{"type": "output_text", "text": text}]}
                stored = items.get(item_id)
                if stored is not None:
                    stored.heard = text
            stored = items.get(item_id)
            if stored is not None:
                stored.data = copy_json(item)
            emit({"type": "response.output_item.done", "response_id": rid, "output_index": index, "item": copy_json(item)}, now)
            if not response.out_of_band:
                emit({"type": "conversation.item.done", "item": copy_json(item)}, now)
            output.append(copy_json(item))
        response.done = True
        sent_ms = sum(audio.duration_ms(p.released_bytes, response.audio_format) for p in response.outputs)
        sent_text = " ".join(p.transcript[: p.released_chars] for p in response.outputs)
        details = {"type": "cancelled", "reason": reason}
        emit({"type": "response.done", "response": self._response_object(response, "cancelled", output, self._usage(response, sent_text, sent_ms), details)}, now)
        if self.active is response:
            self.active = None


@functools.lru_cache(maxsize=256)
def spoken(text: str, words_per_minute: int, fmt: AudioFormat, chunk_ms: int, engine: SpeechEngine = "auto") -> tuple[bytes, tuple[str, ...]]:
    """The audio of `text` in `fmt` and its base64 delta chunks, computed once per sentence:
    scripted models say the same sentences over and over, and synthesis plus base64 were the
    bulk of planning a response."""
    encoded = audio.encode_from_pcm16(audio.synthesize_speech(text, words_per_minute=words_per_minute, engine=engine), fmt)
    chunk = audio.bytes_for_ms(chunk_ms, fmt)
    pieces = tuple(pybase64.b64encode(encoded[pos : pos + chunk]).decode() for pos in range(0, len(encoded), chunk))
    return encoded, pieces
