"""What one inbound frame costs to decode: agentkit vs the floor vs stdlib vs openai-agents.

Two frames, the two that dominate a live call:

* a 100 ms audio delta (24 kHz PCM16 = 4800 bytes, 6400 base64 characters), and
* an assistant transcript delta (a few words).

Decoders compared on the same `str` frame:

* **agentkit**: `agentkit.protocol.decode_server_event` (typed event, audio as `bytes`).
* **floor**: `orjson.loads` + `pybase64.b64decode(validate=True)` of the payload, the least
  work any decoder must do (no type dispatch, no field checks, no event object).
* **typed bound**: the floor plus what any decoder that hands out *validated, typed* events
  cannot skip: read the four fields the event carries, check their four types, fill one plain
  slotted object (not frozen, no dispatch). The gap between agentkit and this row is what
  agentkit's own design costs (dispatch on `type`, the frozen class); the gap between this row
  and the floor is the price of a typed, checked event on this interpreter.
* **stdlib**: `json.loads` + `base64.b64decode`.
* **openai-agents**: what `OpenAIRealtimeWebSocketModel` does per message before its session
  sees it (`agents/realtime/openai_realtime.py`, `_listen_for_messages` → `_handle_ws_event`):
  `json.loads`, the custom-voice normalisation check, `TypeAdapter(RealtimeServerEvent)
  .validate_python` over the 46-member GA union, and for audio `base64.b64decode(parsed.delta)`
  (`_handle_audio_delta`). Its queueing and history work come on top and are not counted here.

Each figure is the median over `--repeat` runs of the per-event time of `--number` decodes.
Run: `.venv/bin/python bench/decode.py`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pybase64

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentkit.protocol.decode import decode_server_event
from agentkit.protocol.server_events import (
    ResponseOutputAudioDelta,
    ResponseOutputAudioTranscriptDelta,
)

AUDIO_BYTES = 4800  # 100 ms of 24 kHz mono PCM16


def audio_frame() -> str:
    audio = os.urandom(AUDIO_BYTES)
    return orjson.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": "event_CJp2RtGFyOiIxbMI4lHTw",
            "response_id": "resp_CJp2QmVnZ3ZnZ3Zn1",
            "item_id": "item_CJp2QmVnZ3ZnZ3Zn2",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(audio).decode(),
        }
    ).decode()


def transcript_frame() -> str:
    return orjson.dumps(
        {
            "type": "response.output_audio_transcript.delta",
            "event_id": "event_CJp2RtGFyOiIxbMI4lHTx",
            "response_id": "resp_CJp2QmVnZ3ZnZ3Zn1",
            "item_id": "item_CJp2QmVnZ3ZnZ3Zn2",
            "output_index": 0,
            "content_index": 0,
            "delta": " your order ships",
        }
    ).decode()


def openai_agents_decoder() -> Callable[[str], Any] | None:
    """The per-message parsing openai-agents does, calling its own functions in-process."""
    try:
        from agents.realtime import openai_realtime as oar
    except ImportError:
        return None
    adapter = oar.get_server_event_type_adapter()
    needs_voice_fix = oar._should_normalize_custom_voice_for_server_event
    voice_fix = oar._normalize_custom_voice_for_server_event_validation

    def decode(frame: str) -> Any:
        event = json.loads(frame)
        # `_handle_ws_event`: output-item messages take another path; these frames do not.
        if "previous_item_id" in event and event["previous_item_id"] is None:
            event = {**event, "previous_item_id": ""}
        if needs_voice_fix(event):
            event = voice_fix(event)
        parsed = adapter.validate_python(event)
        if parsed.type == "response.output_audio.delta":
            return base64.b64decode(parsed.delta)  # `_handle_audio_delta`
        return parsed

    return decode


def floor(frame: str) -> Any:
    data = orjson.loads(frame)
    if data["type"] == "response.output_audio.delta":
        return pybase64.b64decode(data["delta"], validate=True)
    return data


class _Plain:
    __slots__ = ("content_index", "item_id", "payload", "response_id")


def typed_bound(frame: str) -> Any:
    data = orjson.loads(frame)
    response_id = data["response_id"]
    item_id = data["item_id"]
    content_index = data["content_index"]
    payload = data["delta"]
    if not (
        type(response_id) is str
        and type(item_id) is str
        and type(content_index) is int
        and type(payload) is str
    ):
        raise ValueError("bad field")
    if data["type"] == "response.output_audio.delta":
        payload = pybase64.b64decode(payload, validate=True)
    event = _Plain()
    event.response_id = response_id
    event.item_id = item_id
    event.content_index = content_index
    event.payload = payload
    return event


def stdlib(frame: str) -> Any:
    data = json.loads(frame)
    if data["type"] == "response.output_audio.delta":
        return base64.b64decode(data["delta"])
    return data


def measure(func: Callable[[str], Any], frame: str, number: int, repeat: int) -> float:
    """Median nanoseconds per call over `repeat` runs of `number` calls."""
    timer = timeit.Timer(lambda: func(frame))
    timer.timeit(number // 10 or 1)  # warm-up (caches, lazily built validators)
    runs = [timer.timeit(number) / number * 1e9 for _ in range(repeat)]
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--number", type=int, default=5000, help="decodes per run")
    parser.add_argument("--repeat", type=int, default=15, help="runs per figure")
    args = parser.parse_args(argv)

    frames = {"audio delta (100 ms)": audio_frame(), "transcript delta": transcript_frame()}
    # Sanity: every decoder sees a valid frame and agentkit yields the typed event.
    assert isinstance(decode_server_event(frames["audio delta (100 ms)"]), ResponseOutputAudioDelta)
    assert isinstance(
        decode_server_event(frames["transcript delta"]), ResponseOutputAudioTranscriptDelta
    )

    decoders: dict[str, Callable[[str], Any]] = {
        "floor (orjson+pybase64)": floor,
        "typed bound": typed_bound,
        "agentkit": decode_server_event,
        "stdlib json+base64": stdlib,
    }
    peer = openai_agents_decoder()
    if peer is not None:
        decoders["openai-agents"] = peer

    print(f"python {sys.version.split()[0]}, {args.repeat} runs x {args.number} decodes, median")
    header = f"{'frame':<22} {'decoder':<25} {'ns/event':>10} {'x floor':>8} {'x agentkit':>11}"
    print(header)
    print("-" * len(header))
    for frame_name, frame in frames.items():
        # Interleave decoders run by run so machine noise hits all of them alike.
        runs: dict[str, list[float]] = {name: [] for name in decoders}
        for _ in range(args.repeat):
            for name, func in decoders.items():
                runs[name].append(measure(func, frame, args.number, 1))
        medians = {name: statistics.median(values) for name, values in runs.items()}
        base = medians["floor (orjson+pybase64)"]
        ours = medians["agentkit"]
        for name, value in medians.items():
            print(
                f"{frame_name:<22} {name:<25} {value:>10.0f} {value / base:>8.2f} {value / ours:>11.2f}"
            )
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
