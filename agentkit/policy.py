"""The knobs of a live session's policy, in one public module.

Each is a frozen dataclass validated on construction, passed to `RealtimeRunner`:

```python
from agentkit import ApprovalSettings, GuardrailSettings, ReconnectPolicy, RealtimeRunner, SessionLimits

runner = RealtimeRunner(
    agent,
    limits=SessionLimits(idle_timeout_s=120, max_duration_s=1800),
    reconnect=ReconnectPolicy(max_attempts=3),
    approvals=ApprovalSettings(timeout_s=30),
    guardrails=GuardrailSettings(output_debounce_chars=50),
)
```

- `SessionLimits`: how long a session may last or idle, payload sizes, slow readers, stalls.
- `ReconnectPolicy`: when and how a dropped session reconnects.
- `ApprovalSettings`: what happens to a call that needs approval when nobody answers.
- `GuardrailSettings`: how often output is checked and what the agent says after a trip.
- `QualityPolicy`: when a WebRTC call's quality counts as degraded, and the codec to fall
  back to.
- `ToolFailure` / `ToolErrorFormatter`: what the model is told when a tool call fails.

The engine that applies them lives in `agentkit.runtime`; this module holds only data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

import orjson

from .errors import DefinitionError

if TYPE_CHECKING:
    from .transports.base import Transport
    from .transports.codecs import Codec

__all__ = [
    "ApprovalDecision",
    "ApprovalSettings",
    "FailureKind",
    "GuardrailOnError",
    "GuardrailSettings",
    "QualityPolicy",
    "ReconnectPolicy",
    "SessionLimits",
    "ToolErrorFormatter",
    "ToolFailure",
    "TransportFactory",
    "default_tool_error_formatter",
]


# `input_audio_buffer.append` carries at most 15 MiB of base64 per event (protocol spec);
# 8 MiB of raw audio is 10.7 MiB of base64, safely under it.
_MAX_APPEND_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Limits of one session; every limit that ends a session says so with a
    `SessionLimitReached` event before the status goes to `disconnected`.

    Attributes:
        max_duration_s: End the session this long after it first connected (reconnects do
            not reset it). `None`: no limit of our own (the service's still applies; see
            `ReconnectPolicy.renew_after_s`).
        idle_timeout_s: End the session when neither the caller (audio, text, speech) nor
            the agent (a response) has done anything for this long. `None`: never.
        max_queued_events: Events the async iterator keeps when the app reads too slowly.
            Policy when full: the oldest events are dropped and an `EventsDropped` event
            (with how much audio was among them) takes their place, so nothing, and audio in
            particular, disappears without the app being told. Handlers registered with
            `session.on()` are called synchronously and always see every event.
        max_text_chars: A typed message longer than this is refused with an `error` event
            (code `payload_too_large`) instead of being sent.
        max_tool_output_chars: A tool output longer than this is cut to this length (with a
            note to the model and an `error` event), so one runaway tool cannot blow the
            model's context or the 15 MiB event limit.
        max_audio_append_bytes: Caller audio larger than this per `send_audio` call is split
            into several `input_audio_buffer.append` events rather than refused.
        stall_timeout_s: The service owes an answer (a `response.create` was sent, or a
            response is under way) and has sent nothing for this long: the connection is
            treated as lost (a `stalled` error event, then a reconnect with a reconnect
            policy; without one the session ends with that error). A stalled service can keep
            answering WebSocket pings, so the socket alone never tells. `None`: wait forever.
        quiet_warning_s: The app has waited on the session's events this long before the
            conversation started (nothing asked of the service, nothing from the caller): one
            WARNING says so, since the service speaks only when asked (`session.respond()`).
            `None`: never.
    """

    max_duration_s: float | None = None
    idle_timeout_s: float | None = None
    max_queued_events: int = 10_000
    max_text_chars: int = 100_000
    max_tool_output_chars: int = 100_000
    max_audio_append_bytes: int = _MAX_APPEND_BYTES
    stall_timeout_s: float | None = 30.0
    quiet_warning_s: float | None = 10.0

    def __post_init__(self) -> None:
        for name in ("max_duration_s", "idle_timeout_s", "stall_timeout_s", "quiet_warning_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise DefinitionError(f"{name} must be positive, got {value}")
        for name in (
            "max_queued_events",
            "max_text_chars",
            "max_tool_output_chars",
            "max_audio_append_bytes",
        ):
            if getattr(self, name) < 1:
                raise DefinitionError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_audio_append_bytes > _MAX_APPEND_BYTES:
            raise DefinitionError(
                f"max_audio_append_bytes is at most {_MAX_APPEND_BYTES} (the protocol's 15 MiB "
                "per event, base64-encoded)"
            )



TransportFactory = Callable[[], "Transport"]
"""Makes a fresh, unconnected transport (a new WebSocket to the same URL, another region...)."""


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """When and how a session reconnects after the connection drops or the service ends it.

    Attributes:
        max_attempts: Connection attempts per outage before giving up (0: never reconnect).
        base_delay_s: Delay before the first attempt; doubled per attempt.
        max_delay_s: Cap on the delay.
        jitter: Fraction of each delay that is random (0: none, 1: anywhere from 0 to the
            delay), so many sessions cut by one outage do not reconnect in lockstep.
        renew_after_s: Reconnect proactively this long after a connection opened, at the
            first moment no response is active, before the service's maximum session
            duration ends it mid-sentence (OpenAI: 60 minutes). `None`: never.
        text_fallback: When attempts run out, continue text-only over a transport from this
            factory (the conversation is replayed; the app gets `TextFallback`). `None`: the
            session ends with an error.
    """

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    jitter: float = 0.5
    renew_after_s: float | None = 55 * 60.0
    text_fallback: TransportFactory | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 0:
            raise DefinitionError(f"max_attempts must be 0 or more, got {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise DefinitionError(
                "need 0 <= base_delay_s <= max_delay_s, got "
                f"{self.base_delay_s} and {self.max_delay_s}"
            )
        if not 0.0 <= self.jitter <= 1.0:
            raise DefinitionError(f"jitter must be within [0, 1], got {self.jitter}")
        if self.renew_after_s is not None and self.renew_after_s <= 0:
            raise DefinitionError(f"renew_after_s must be positive, got {self.renew_after_s}")



@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """Connection quality monitoring of a transport with stats (`WebRTCTransport`).

    Every `interval_s` the session reads the transport's stats and emits a
    `ConnectionQuality` event (loss, jitter, round trip, bitrate, codec). An interval over a
    threshold emits `QualityDegraded`; `recover_after` intervals in a row within them emit
    `QualityRecovered`. The defaults are the design notes': more than 2% loss or 30 ms of
    jitter is degraded.

    Attributes:
        interval_s: Seconds between two stats readings (on the session's clock).
        max_loss: The highest share of lost packets (0.0 to 1.0) that is still fine.
        max_jitter_ms: The highest jitter, in ms, that is still fine.
        fallback_codec: When degraded, move the call to this (narrower) codec: the session
            reconnects with it, through the reconnect path (the conversation is replayed,
            no history item or tool output is lost), and emits `CodecChanged`. Once per
            session. `None`: only report.
        recover_after: Good intervals in a row that end a degradation.
    """

    interval_s: float = 2.0
    max_loss: float = 0.02
    max_jitter_ms: float = 30.0
    fallback_codec: Codec | None = None
    recover_after: int = 2

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise DefinitionError(f"interval_s must be positive, got {self.interval_s}")
        if not 0.0 <= self.max_loss < 1.0:
            raise DefinitionError(f"max_loss must be within [0, 1), got {self.max_loss}")
        if self.max_jitter_ms <= 0:
            raise DefinitionError(f"max_jitter_ms must be positive, got {self.max_jitter_ms}")
        if self.fallback_codec is not None and self.fallback_codec not in _CODECS:
            raise DefinitionError(
                f"fallback_codec must be one of {', '.join(_CODECS)}, not {self.fallback_codec!r}"
            )
        if self.recover_after < 1:
            raise DefinitionError(f"recover_after must be at least 1, got {self.recover_after}")


# `transports.webrtc_media.Codec`'s values (not imported: this module loads no media stack).
_CODECS: Final = ("opus", "pcmu", "pcma")


ApprovalDecision = Literal["approve", "reject"]

GuardrailOnError = Literal["block", "allow"]
"""What a guardrail that fails means for its text (see `GuardrailSettings.on_error`)."""


@dataclass(frozen=True, slots=True)
class GuardrailSettings:
    """How guardrail trips are handled.

    Attributes:
        output_debounce_chars: Run output guardrails each time the assistant's transcript
            of an item grows by this many characters (and once more on the final text). Lower
            catches a bad phrase sooner, at the cost of more checks.
        default_safe_reply: What the agent says after a trip when the guardrail has no
            `safe_reply`. `None`: the agent gets a corrective instruction instead and answers
            in its own words.
        input_check_timeout_s: How long a response to an audio turn is held back waiting for
            its transcript and the input checks; past it the response is let through (with an
            `error` event), so a missing transcript never silences the agent.
        on_error: What a guardrail that raises (or returns something other than a
            `GuardrailResult` or a bool) means for the text it was checking. `block` (the
            default) treats it as tripped, so a broken check fails closed: the text is
            stopped as by any trip (`GuardrailTripped` with `details={"error": ...}`, the safe
            reply). `allow` lets the text through. Either way the app gets a
            `guardrail_error` `ErrorEvent` and a WARNING is logged, so a failing check is
            never silent.
    """

    output_debounce_chars: int = 100
    default_safe_reply: str | None = "I'm sorry, I can't help with that."
    input_check_timeout_s: float = 5.0
    # A guardrail exists to stop text; one that crashed cannot say the text is safe.
    on_error: GuardrailOnError = "block"

    def __post_init__(self) -> None:
        if self.output_debounce_chars < 1:
            raise DefinitionError(
                f"output_debounce_chars must be at least 1, got {self.output_debounce_chars}"
            )
        if self.input_check_timeout_s <= 0:
            raise DefinitionError(
                f"input_check_timeout_s must be positive, got {self.input_check_timeout_s}"
            )
        if self.on_error not in ("block", "allow"):
            raise DefinitionError(
                f"guardrail on_error must be block or allow, got {self.on_error!r}"
            )


@dataclass(frozen=True, slots=True)
class ApprovalSettings:
    """How calls of tools marked `needs_approval` are decided when the app does not answer.

    Attributes:
        timeout_s: Seconds a call stays parked before `default` applies (`None`: forever).
        default: The decision after the timeout. `reject` is the safe choice: a tool that
            needs approval changes something.
        rejection_message: What the model is told when a call is rejected without a message.
    """

    timeout_s: float | None = 60.0
    default: ApprovalDecision = "reject"
    rejection_message: str = "The user did not approve this action, so it was not done."

    def __post_init__(self) -> None:
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise DefinitionError(f"approval timeout_s must be positive, got {self.timeout_s}")
        if self.default not in ("approve", "reject"):
            raise DefinitionError(
                f"approval default must be approve or reject, got {self.default!r}"
            )



FailureKind = Literal["invalid_arguments", "unknown_tool", "error", "timeout"]


@dataclass(frozen=True, slots=True)
class ToolFailure:
    """Why a call produced no result, for the formatter.

    Attributes:
        kind: `invalid_arguments`, `unknown_tool`, `error` or `timeout`.
        tool_name: The name the model called.
        message: A human-readable reason (the bad field, the exception message, ...).
        exception: The exception, when there was one.
    """

    kind: FailureKind
    tool_name: str
    message: str
    exception: BaseException | None = None


ToolErrorFormatter = Callable[[ToolFailure], str]
"""Turns a failure into the `function_call_output` the model reads (and can speak from)."""


def default_tool_error_formatter(failure: ToolFailure) -> str:
    """A small JSON object the model understands: `{"error": kind, "message": ...}`."""
    return orjson.dumps({"error": failure.kind, "message": failure.message}).decode()
