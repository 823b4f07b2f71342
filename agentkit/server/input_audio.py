"""The input audio buffer and turn detection: `input_audio_buffer.*` and server/semantic VAD.

`InputAudio.append` is the hot path of a call (an append every 20-100 ms per session): it
keeps the chunk as it came, advances the input clock (`input_ms`, the audio time VAD and
the idle timeout count in) and feeds the detector only when turn detection is on. Speech
start cancels the active response (barge-in), speech stop commits exactly the utterance and
asks for a response, as the service does.
"""

from __future__ import annotations

import numpy as np

from .. import audio
from ..audio import AudioFormat
from ..protocol.wire_types import JsonObject
from .errors import ClientError
from .items import Conversation, Item
from .model import ResponseModel
from .outbox import Outbox, copy_json
from .responses import Responses
from .session_config import format_name
from .vad import (
    FRAME_MS,
    ONSET_FRAMES,
    SEMANTIC_SILENCE_MS,
    SpeechStarted,
    VadConfig,
    VoiceActivityDetector,
)

__all__ = ["MAX_BUFFER_BYTES", "MIN_COMMIT_MS", "ChunkBuffer", "InputAudio"]

MIN_COMMIT_MS = 100
"""The least audio `input_audio_buffer.commit` accepts."""
MAX_BUFFER_BYTES = 15 * 2**20
"""The most audio the input buffer holds (about 5.5 minutes of PCM16, 33 of G.711): an
append beyond it is refused with an `error` (`input_audio_buffer_full`) until the client
commits or clears. The service documents 15 MiB per append; its buffer limit is not
documented, so the local server uses the same figure for the whole buffer."""
_TRIM_SLACK_MS = 1000
"""While waiting for speech the buffer is trimmed once it holds this much more than VAD
needs (trimming after every append would cost a list operation per frame)."""


class ChunkBuffer:
    """The input audio buffer: appended chunks kept as they came (no copy per append, and
    no reallocation of one ever-growing buffer); joined only when audio is taken out."""

    __slots__ = ("_chunks", "_size")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        """Keep `data` (a copy only when it is not `bytes`)."""
        if data:
            self._chunks.append(data if type(data) is bytes else bytes(data))
            self._size += len(data)

    def clear(self) -> None:
        """Drop everything."""
        self._chunks = []
        self._size = 0

    def keep_last(self, nbytes: int) -> int:
        """Drop whole chunks from the front while at least `nbytes` stay; the bytes dropped."""
        chunks = self._chunks
        drop = 0
        dropped = 0
        while drop < len(chunks) and self._size - dropped - len(chunks[drop]) >= nbytes:
            dropped += len(chunks[drop])
            drop += 1
        if drop:
            del chunks[:drop]
            self._size -= dropped
        return dropped

    def getvalue(self) -> bytes:
        """Everything buffered, as one bytes object."""
        chunks = self._chunks
        if len(chunks) != 1:
            chunks[:] = [b"".join(chunks)] if chunks else []
        return chunks[0] if chunks else b""

    def cut(self, start: int, end: int) -> bytes:
        """`buffer[start:end]`, dropping everything before `end`."""
        whole = self.getvalue()
        rest = whole[end:]
        self._chunks = [rest] if rest else []
        self._size = len(rest)
        return whole[start:end]


class InputAudio:
    """The session's input audio buffer, its clock and its voice activity detector."""

    def __init__(self, outbox: Outbox, conversation: Conversation, responses: Responses, model: ResponseModel, session: JsonObject) -> None:
        self._outbox = outbox
        self._conversation = conversation
        self._responses = responses
        self._model = model
        self._buffer = ChunkBuffer()
        self._buffer_start_ms = 0.0
        self.input_ms = 0.0
        """Input audio received so far, in ms: the clock VAD and the idle timeout use."""
        self._speech_item: str | None = None
        self._speech_start_ms = 0
        self._idle_start_ms: float | None = None
        self.configure(session)

    def configure(self, session: JsonObject, keep_position: bool = False) -> None:
        """Read the input settings of the effective `session` (after every update)."""
        # Read on every audio append: resolve once per session.update, not per frame.
        self._session = session
        audio_in = session["audio"]["input"]
        self.input_format: AudioFormat = format_name(audio_in["format"], "session.audio.input.format")
        self._td: JsonObject | None = audio_in["turn_detection"]
        self._input_bytes_per_ms = audio.bytes_per_ms(self.input_format)
        self._vad = self._build_vad(keep_position)
        # While waiting for speech, keep what a speech start can reach back to: the prefix
        # padding, the onset frames and the frame the detector holds back.
        keep_ms = self._vad.config.prefix_padding_ms + (ONSET_FRAMES + 1) * FRAME_MS
        self._keep_bytes = audio.bytes_for_ms(keep_ms, self.input_format)
        self._trim_at = audio.bytes_for_ms(keep_ms + _TRIM_SLACK_MS, self.input_format)

    def _build_vad(self, keep_position: bool) -> VoiceActivityDetector:
        td = self._td or {"type": "server_vad"}
        if td.get("type") == "semantic_vad":
            config = VadConfig(silence_duration_ms=SEMANTIC_SILENCE_MS[td.get("eagerness") or "auto"])
        else:
            config = VadConfig(
                threshold=float(td.get("threshold", 0.5)),
                prefix_padding_ms=int(td.get("prefix_padding_ms", 300)),
                silence_duration_ms=int(td.get("silence_duration_ms", 500)),
            )
        vad = VoiceActivityDetector(config, audio.sample_rate(self.input_format))
        if keep_position:
            vad.skip_to(self.input_ms)
        return vad

    def heard_all(self, remaining_ms: float) -> None:
        """The default conversation's response ended; the user hears its end `remaining_ms`
        of input audio from now, which is when the idle timeout starts counting."""
        self._idle_start_ms = self.input_ms + remaining_ms

    def has_room(self, nbytes: int) -> bool:
        """Whether `nbytes` more fit in the buffer (`MAX_BUFFER_BYTES`)."""
        return len(self._buffer) + nbytes <= MAX_BUFFER_BYTES

    def _trim(self) -> None:
        dropped = self._buffer.keep_last(self._keep_bytes)
        self._buffer_start_ms += dropped / self._input_bytes_per_ms

    # --- the hot path ------------------------------------------------------------------------

    def append(self, data: bytes, now: float) -> None:
        """Append decoded input audio (session input format); run VAD when it is on."""
        fmt = self.input_format
        self._buffer.append(data)
        self.input_ms += len(data) / self._input_bytes_per_ms
        td = self._td
        if td is None:
            return
        if fmt == "pcm16":  # a view of the bytes, as `decode_to_pcm16` gives, minus two calls
            samples = np.frombuffer(data, dtype="<i2", count=len(data) >> 1)
        else:
            samples = audio.decode_to_pcm16(data, fmt)
        events = self._vad.feed(samples)
        if not events and not td.get("idle_timeout_ms"):
            if len(self._buffer) > self._trim_at and self._speech_item is None and not self._vad.in_speech:
                self._trim()
            return
        for vad_event in events:
            if isinstance(vad_event, SpeechStarted):
                self._speech_started(vad_event.audio_start_ms, td, now)
            else:
                self._speech_stopped(vad_event.audio_end_ms, td, now)
        idle = td.get("idle_timeout_ms")
        if (
            idle
            and self._idle_start_ms is not None
            and not self._vad.in_speech
            and self._responses.active is None
            and self.input_ms - self._idle_start_ms >= idle
        ):
            self._idle_timeout(now)
        if len(self._buffer) > self._trim_at and self._speech_item is None and not self._vad.in_speech:
            self._trim()

    # --- turns ---------------------------------------------------------------------------------

    def _speech_started(self, start_ms: int, td: JsonObject, now: float) -> None:
        self._idle_start_ms = None
        self._speech_item = self._outbox.new_id("item")
        self._speech_start_ms = max(start_ms, int(self._buffer_start_ms))
        self._outbox.emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": start_ms, "item_id": self._speech_item}, now)
        self._outbox.release_due(now)
        active = self._responses.active
        if td.get("interrupt_response", True) and active is not None and not active.done:
            self._responses.cancel(active, "turn_detected", now)

    def _speech_stopped(self, end_ms: int, td: JsonObject, now: float) -> None:
        item_id = self._speech_item or self._outbox.new_id("item")
        self._outbox.emit({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": end_ms, "item_id": item_id}, now)
        # Commit exactly the utterance (prefix padding included); audio after it stays buffered.
        fmt = self.input_format
        start = audio.bytes_for_ms(max(0.0, self._speech_start_ms - self._buffer_start_ms), fmt)
        end = audio.bytes_for_ms(max(0.0, end_ms - self._buffer_start_ms), fmt)
        utterance = self._buffer.cut(start, end)
        self._buffer_start_ms = max(self._buffer_start_ms, float(end_ms))
        self._speech_item = None
        self._add_user_audio(item_id, utterance, now)
        if td.get("create_response", True) and self._responses.active is None:
            self._responses.start({}, now, self._session)

    def _idle_timeout(self, now: float) -> None:
        assert self._idle_start_ms is not None
        item_id = self._outbox.new_id("item")
        self._outbox.emit({"type": "input_audio_buffer.timeout_triggered", "audio_start_ms": int(self._idle_start_ms), "audio_end_ms": int(self.input_ms), "item_id": item_id}, now)
        self._idle_start_ms = None
        utterance = self._buffer.getvalue()
        self._buffer.clear()
        self._buffer_start_ms = self.input_ms
        self._add_user_audio(item_id, utterance, now, heard="")
        self._responses.start({}, now, self._session, idle=True)

    # --- client events ---------------------------------------------------------------------

    def commit(self, now: float) -> None:
        """`input_audio_buffer.commit`: the whole buffer becomes a user item."""
        fmt = self.input_format
        buffered = audio.duration_ms(len(self._buffer), fmt)
        if buffered < MIN_COMMIT_MS:
            raise ClientError(
                "Error committing input audio buffer: buffer too small. Expected at least 100ms "
                f"of audio, but buffer only has {buffered:.2f}ms of audio.",
                "input_audio_buffer_commit_empty",
            )
        item_id = self._speech_item or self._outbox.new_id("item")
        utterance = self._buffer.getvalue()
        self._buffer.clear()
        self._buffer_start_ms = self.input_ms
        self._speech_item = None
        self._vad.reset()
        self._add_user_audio(item_id, utterance, now)

    def clear(self, now: float) -> None:
        """`input_audio_buffer.clear`."""
        self._buffer.clear()
        self._buffer_start_ms = self.input_ms
        self._speech_item = None
        self._vad.reset()
        self._outbox.emit({"type": "input_audio_buffer.cleared"}, now)

    def _add_user_audio(self, item_id: str, data: bytes, now: float, heard: str | None = None) -> None:
        fmt = self.input_format
        ms = audio.duration_ms(len(data), fmt)
        conversation = self._conversation
        emit = self._outbox.emit
        text = self._model.transcribe(ms, tuple(conversation.caller_lines)) if heard is None else heard
        previous = conversation.last_id()
        item: JsonObject = {"id": item_id, "object": "realtime.item", "type": "message", "role": "user", "status": "completed", "content": [{"type": "input_audio", "transcript": None}]}
        conversation.insert(Item(item, audio=data, audio_format=fmt, heard=text), previous)
        emit({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous}, now)
        emit({"type": "conversation.item.added", "item": copy_json(item), "previous_item_id": previous}, now)
        emit({"type": "conversation.item.done", "item": copy_json(item), "previous_item_id": previous}, now)
        if self._session["audio"]["input"]["transcription"] is not None and text:
            words = text.split(" ")
            for index, word in enumerate(words):
                delta = word if index == 0 else " " + word
                emit({"type": "conversation.item.input_audio_transcription.delta", "item_id": item_id, "content_index": 0, "delta": delta}, now)
            item["content"][0]["transcript"] = text
            emit({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id, "content_index": 0, "transcript": text, "usage": {"type": "duration", "seconds": round(ms / 1000, 3)}}, now)
