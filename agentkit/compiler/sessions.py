"""The compiler: an agent plus session settings in, a complete `session.update` event out.

Compilation runs in two pure steps (STYLE habit 3):

1. `build_session_config` merges the runner's `SessionSettings`, the agent's overrides and its
   voice, fixes the instructions and collects the tool definitions (function tools, then
   handoff tools) into a neutral, frozen `SessionConfig`. Nothing in it is dialect-specific.
2. `render_session` renders that config as the GA (`gpt-realtime`) or the beta (preview, Azure
   `2025-04-01-preview`) `session` object. A setting the dialect cannot express is a
   `CompileError`, never a dropped key.

`compile_session_update` does both and wraps the result in the client event. The mid-session
form, `compile_agent_swap`, is what the runtime sends on a handoff: it re-sends the audio
formats, leaves out `model` and, once audio has been produced, `voice`.

What is sent:

- always: `instructions`, the output modality, both audio formats, turn detection (`null` for
  push-to-talk) and `tools` (also `[]`, so a handoff clears the previous agent's tools);
  `model` and `type` in the full form;
- only when the developer set them: everything else. `input_transcription`, `noise_reduction`
  and `tracing` set to `None` explicitly are sent as `null`, which turns them off; `voice`,
  `speed`, `tool_choice`, `max_output_tokens`, `truncation` and `temperature` set to `None`
  are left out (`null` means nothing there).

What a dialect cannot express (checked against `openai.types.realtime` and
`openai.types.beta.realtime.session_update_event`), raised as `CompileError(field=...)`:

| setting | GA | beta |
| --- | --- | --- |
| `temperature` | error (GA removed it) | sent |
| `truncation` | sent | error |
| `tool_choice=ToolChoiceFunction(...)` | sent | error (beta takes a string) |
| `ServerVad.idle_timeout_ms` | sent | error (`turn_detection.idle_timeout_ms`) |
| hosted MCP servers (`HostedMCPTool`) | sent as `type: "mcp"` tools | error (`tools`) |

Semantic VAD (`eagerness`), G.711 formats, transcription, noise reduction, tracing and speed
exist in both.

The output is deterministic: keys appear in a fixed order decided here, not by the order in
which settings were given, so payloads can be snapshot-tested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, assert_never

from ..agent import RealtimeAgent, walk_agents
from ..errors import CompileError, DefinitionError
from ..protocol.live_config import (
    LiveOptions,
)
from ..protocol.mcp import render_mcp_tool
from ..protocol.wire_types import Dialect, JsonObject
from ..settings import (
    AudioFormatName,
    InputTranscription,
    RealtimeTracingConfig,
    RetentionRatioTruncation,
    SemanticVad,
    ServerVad,
    SessionSettings,
    ToolChoiceFunction,
)
from ..tools import HostedMCPDefinition, ToolDefinition

__all__ = [
    "Dialect",
    "SessionConfig",
    "build_session_config",
    "compile_agent_swap",
    "compile_agents",
    "compile_session_update",
    "function_tool_json",
    "render_session",
    "unsupported",
]


_DIALECTS: Final[tuple[Dialect, ...]] = ("ga", "beta", "live")

# GA `audio.*.format` objects (openai `realtime_audio_formats.py`): PCM is 24 kHz only.
_GA_FORMATS: Final[Mapping[AudioFormatName, Mapping[str, Any]]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}

@dataclass(frozen=True)
class SessionConfig:
    """The neutral form of one agent's session: what every dialect's payload is rendered from.

    Build it with `build_session_config`; `render_session` turns it into a dialect's
    `session` object.

    Attributes:
        agent_name: The agent this configuration belongs to (named in error messages).
        instructions: The resolved system prompt; `""` clears the service's default.
        settings: The runner's settings with the agent's overrides and voice laid on top.
            Its `model_fields_set` records what the developer set, which decides what is sent.
        tools: Function tools, then handoff tools, names unique.
        hosted_tools: Remote MCP servers the service calls (GA only), after the tools.
    """

    agent_name: str
    instructions: str
    settings: SessionSettings
    tools: tuple[ToolDefinition, ...] = ()
    hosted_tools: tuple[HostedMCPDefinition, ...] = ()

    @property
    def model(self) -> str:
        """The realtime model the session runs."""
        return self.settings.model

    @property
    def voice(self) -> str | None:
        """The agent's voice, else the runner's, else `None` (the service's default)."""
        return self.settings.voice


def build_session_config(
    agent: RealtimeAgent[Any],
    settings: SessionSettings | None = None,
    *,
    instructions: str | None = None,
) -> SessionConfig:
    """Merge `agent` over the runner's `settings` into the neutral `SessionConfig`.

    Precedence, lowest first: `settings` (the runner's), the fields `agent.settings` sets
    explicitly, then `agent.voice`.

    Args:
        agent: The agent to compile.
        settings: The runner's session settings; `None` means `SessionSettings()`.
        instructions: Instructions already resolved by the runtime. Required when the agent's
            instructions are a function of the run context, which the compiler cannot call
            (it is pure and has no context).

    Raises:
        DefinitionError: dynamic instructions were not resolved, two tools share a name, or
            `tool_choice` forces a function the agent does not offer.
    """
    base = settings if settings is not None else SessionSettings()
    merged = base.merged(agent.settings)
    if agent.voice is not None:
        merged = merged.merged(SessionSettings(voice=agent.voice))
    if instructions is None:
        instructions = agent.static_instructions()
        if instructions is None:
            raise DefinitionError(
                f"agent {agent.name!r}: its instructions are a function of the run context; "
                "resolve them first (`await agent.resolve_instructions(ctx)`) and pass "
                "instructions=... to the compiler"
            )
    tools = tuple(agent.tool_definitions())
    choice = merged.tool_choice
    if isinstance(choice, ToolChoiceFunction) and choice.name not in {t.name for t in tools}:
        raise DefinitionError(
            f"agent {agent.name!r}: tool_choice forces the function {choice.name!r}, which this "
            f"agent does not offer (its tools: {sorted(t.name for t in tools) or 'none'})"
        )
    hosted = agent.hosted_mcp_tools()
    labels = [h.server_label for h in hosted]
    if len(set(labels)) != len(labels):
        raise DefinitionError(
            f"agent {agent.name!r}: two hosted MCP servers share a server_label; labels must be "
            "unique per agent"
        )
    return SessionConfig(
        agent_name=agent.name,
        instructions=instructions,
        settings=merged,
        tools=tools,
        hosted_tools=tuple(h.definition() for h in hosted),
    )


@dataclass(frozen=True)
class _Form:
    """Which session-level fields a rendering carries (the full form carries all)."""

    model: bool = True
    voice: bool = True
    tracing: bool = True


_FULL: Final = _Form()


def render_session(config: SessionConfig, dialect: Dialect) -> JsonObject:
    """The `session` object of a full `session.update` for `config` in `dialect`.

    Raises:
        CompileError: a setting `dialect` cannot express (the table in the module docs).
    """
    return _render(config, dialect, _FULL)


def compile_session_update(
    agent: RealtimeAgent[Any],
    settings: SessionSettings | None = None,
    *,
    dialect: Dialect = "ga",
    instructions: str | None = None,
    event_id: str | None = None,
    live: LiveOptions | None = None,
) -> JsonObject:
    """The complete `session.update` client event that starts a session with `agent`
    (on Live: its `session.start`, see `compile_live_start`).

    Args:
        agent: The starting agent.
        settings: The runner's settings (`None`: the defaults).
        dialect: `"ga"` or `"beta"`.
        instructions: Resolved instructions, required for dynamic-instruction agents.
        event_id: Sent as the event's `event_id` when given (the service echoes it in an
            `error` about this event).
        live: The Live options (`dialect="live"` only; `None`: the defaults).

    Raises:
        CompileError: a setting the dialect cannot express.
        DefinitionError: see `build_session_config`.
    """
    if dialect == "live":
        from .live import compile_live_start  # the Live part imports this module

        return compile_live_start(
            agent, settings, live=live, instructions=instructions, event_id=event_id
        )
    config = build_session_config(agent, settings, instructions=instructions)
    return _event(render_session(config, dialect), event_id)


def compile_agent_swap(
    agent: RealtimeAgent[Any],
    settings: SessionSettings | None,
    *,
    dialect: Dialect,
    audio_started: bool,
    instructions: str | None = None,
    event_id: str | None = None,
) -> JsonObject:
    """The `session.update` that switches a live session to `agent` (a handoff).

    It carries the new instructions, tools (`[]` clears the previous agent's), turn detection
    and the merged settings, and always re-sends both audio formats: a handoff must not put a
    telephony call on G.711 back on PCM (openai-agents issue #1632 did exactly that).

    Left out, because the service cannot change them mid-session:

    - `model` (fixed at connect time);
    - `voice` once `audio_started` (the service refuses a voice change after the first audio
      output; the session keeps the voice it has);
    - `tracing` (immutable once enabled).

    Args:
        agent: The agent taking over.
        settings: The runner's settings, the same ones the session started with.
        dialect: `"ga"` or `"beta"`.
        audio_started: Whether the session has produced audio output yet.
        instructions: Resolved instructions, required for dynamic-instruction agents.
        event_id: Sent as the event's `event_id` when given.

    Raises:
        CompileError: the agent overrides `model` or `tracing` with a value other than the
            session's, or sets something the dialect cannot express.
        DefinitionError: see `build_session_config`.
    """
    if dialect == "live":
        raise CompileError(
            "a Live session swaps agents with compile_live_swap (a delegation update)",
            field="dialect",
            dialect=dialect,
        )
    base = settings if settings is not None else SessionSettings()
    config = build_session_config(agent, base, instructions=instructions)
    if config.model != base.model:
        raise CompileError(
            f"agent {agent.name!r} asks for model {config.model!r} but the session runs "
            f"{base.model!r}; the model cannot change mid-session",
            field="model",
            dialect=dialect,
        )
    if config.settings.tracing != base.tracing:
        raise CompileError(
            f"agent {agent.name!r} overrides tracing, which cannot change mid-session; set it "
            "on the runner's settings",
            field="tracing",
            dialect=dialect,
        )
    form = _Form(model=False, voice=not audio_started, tracing=False)
    return _event(_render(config, dialect, form), event_id)


def compile_agents(
    start_agent: RealtimeAgent[Any],
    settings: SessionSettings | None = None,
    *,
    dialect: Dialect,
    instructions: Mapping[str, str] | None = None,
    live: LiveOptions | None = None,
) -> dict[str, JsonObject]:
    """The full `session.update` of every agent reachable from `start_agent` via handoffs.

    Keyed by agent name, `start_agent` first, then in breadth-first handoff order (the order
    of `walk_agents`), so the CLI's output is stable. Each payload is what a session starting
    with that agent would send.

    Args:
        start_agent: Where the walk starts.
        settings: The runner's settings.
        dialect: `"ga"` or `"beta"`.
        instructions: Resolved instructions by agent name, for agents whose instructions are
            functions of the run context.

    Raises:
        DefinitionError: two reachable agents share a name, or see `build_session_config`.
        CompileError: an agent sets something the dialect cannot express.
    """
    resolved = instructions or {}
    payloads: dict[str, JsonObject] = {}
    for agent in walk_agents(start_agent):
        if agent.name in payloads:
            raise DefinitionError(
                f"two different agents reachable from {start_agent.name!r} are named "
                f"{agent.name!r}; agent names must be unique"
            )
        payloads[agent.name] = compile_session_update(
            agent, settings, dialect=dialect, instructions=resolved.get(agent.name), live=live
        )
    return payloads


def _event(session: JsonObject, event_id: str | None) -> JsonObject:
    event: JsonObject = {"type": "session.update"}
    if event_id is not None:
        event["event_id"] = event_id
    event["session"] = session
    return event


def _render(config: SessionConfig, dialect: Dialect, form: _Form) -> JsonObject:
    if dialect == "ga":
        return _render_ga(config, form)
    if dialect == "beta":
        return _render_beta(config, form)
    if dialect == "live":
        from .live import live_start  # the Live part imports this module

        session: JsonObject = live_start(config, LiveOptions())["session"]
        return session
    # A plain string from untyped callers (CLI flags, YAML) lands here.
    raise CompileError(
        f"unknown dialect; use one of {', '.join(map(repr, _DIALECTS))}",
        field="dialect",
        dialect=str(dialect),
    )


def unsupported(config: SessionConfig, field: str, dialect: Dialect, why: str) -> CompileError:
    return CompileError(f"agent {config.agent_name!r}: {why}", field=field, dialect=dialect)


# --- GA ------------------------------------------------------------------------------------
# Shapes follow openai.types.realtime (RealtimeSessionCreateRequest and its parts).


def _render_ga(config: SessionConfig, form: _Form) -> JsonObject:
    s = config.settings
    if s.temperature is not None:
        raise unsupported(
            config, "temperature", "ga", "the GA protocol has no temperature (it was removed)"
        )
    session: JsonObject = {"type": "realtime"}
    if form.model:
        session["model"] = s.model
    session["instructions"] = config.instructions
    session["output_modalities"] = list(s.output_modalities)

    audio_input: JsonObject = {"format": dict(_GA_FORMATS[s.input_audio_format])}
    if s.explicitly_set("input_transcription"):
        audio_input["transcription"] = _transcription(s.input_transcription)
    if s.explicitly_set("noise_reduction"):
        audio_input["noise_reduction"] = _noise_reduction(s.noise_reduction)
    audio_input["turn_detection"] = _turn_detection(s.turn_detection, config, "ga")

    audio_output: JsonObject = {"format": dict(_GA_FORMATS[s.output_audio_format])}
    if form.voice and s.voice is not None:
        audio_output["voice"] = s.voice
    if s.speed is not None:
        audio_output["speed"] = s.speed
    session["audio"] = {"input": audio_input, "output": audio_output}

    session["tools"] = [function_tool_json(t) for t in config.tools]
    session["tools"] += [_hosted_mcp_tool(t) for t in config.hosted_tools]
    if s.tool_choice is not None:
        session["tool_choice"] = (
            {"type": "function", "name": s.tool_choice.name}
            if isinstance(s.tool_choice, ToolChoiceFunction)
            else s.tool_choice
        )
    if s.max_output_tokens is not None:
        session["max_output_tokens"] = s.max_output_tokens
    if form.tracing and s.explicitly_set("tracing"):
        session["tracing"] = _tracing(s.tracing)
    if s.truncation is not None:
        session["truncation"] = _truncation(s.truncation)
    return session


def _truncation(value: Literal["auto", "disabled"] | RetentionRatioTruncation) -> Any:
    if isinstance(value, str):
        return value
    out: JsonObject = {"type": "retention_ratio", "retention_ratio": value.retention_ratio}
    if value.post_instructions_token_limit is not None:
        out["token_limits"] = {"post_instructions": value.post_instructions_token_limit}
    return out


# --- beta ----------------------------------------------------------------------------------
# Shapes follow openai.types.beta.realtime.session_update_event.Session (flat, no `type`).


def _render_beta(config: SessionConfig, form: _Form) -> JsonObject:
    s = config.settings
    if s.truncation is not None:
        raise unsupported(
            config, "truncation", "beta", "the beta protocol has no truncation setting"
        )
    if config.hosted_tools:
        raise unsupported(
            config,
            "tools",
            "beta",
            "the beta protocol has no hosted MCP tools (type 'mcp'); use the GA dialect, or a "
            "local MCP server (agentkit.mcp), whose tools are function tools",
        )
    if isinstance(s.tool_choice, ToolChoiceFunction):
        raise unsupported(
            config,
            "tool_choice",
            "beta",
            "the beta protocol takes tool_choice as 'auto', 'none' or 'required' only, not a "
            "forced function",
        )
    session: JsonObject = {}
    if form.model:
        session["model"] = s.model
    session["instructions"] = config.instructions
    # Beta modalities name what the model may produce; audio always comes with its transcript.
    session["modalities"] = ["audio", "text"] if s.audio_output else ["text"]
    if form.voice and s.voice is not None:
        session["voice"] = s.voice
    session["input_audio_format"] = s.input_audio_format
    session["output_audio_format"] = s.output_audio_format
    if s.explicitly_set("input_transcription"):
        session["input_audio_transcription"] = _transcription(s.input_transcription)
    if s.explicitly_set("noise_reduction"):
        session["input_audio_noise_reduction"] = _noise_reduction(s.noise_reduction)
    session["turn_detection"] = _turn_detection(s.turn_detection, config, "beta")
    session["tools"] = [function_tool_json(t) for t in config.tools]
    if s.tool_choice is not None:
        session["tool_choice"] = s.tool_choice
    if s.temperature is not None:
        session["temperature"] = s.temperature
    if s.max_output_tokens is not None:
        session["max_response_output_tokens"] = s.max_output_tokens
    if s.speed is not None:
        session["speed"] = s.speed
    if form.tracing and s.explicitly_set("tracing"):
        session["tracing"] = _tracing(s.tracing)
    return session


# --- shared parts (same shape in both dialects) --------------------------------------------


def _transcription(value: InputTranscription | None) -> JsonObject | None:
    if value is None:
        return None  # null turns transcription off
    out: JsonObject = {"model": value.model}
    if value.language is not None:
        out["language"] = value.language
    if value.prompt is not None:
        out["prompt"] = value.prompt
    return out


def _noise_reduction(value: str | None) -> JsonObject | None:
    return None if value is None else {"type": value}


def _turn_detection(
    value: ServerVad | SemanticVad | None, config: SessionConfig, dialect: Dialect
) -> JsonObject | None:
    if value is None:
        return None  # push-to-talk: the app commits the buffer and asks for a response
    if isinstance(value, ServerVad):
        out: JsonObject = {
            "type": "server_vad",
            "threshold": value.threshold,
            "prefix_padding_ms": value.prefix_padding_ms,
            "silence_duration_ms": value.silence_duration_ms,
        }
        if value.idle_timeout_ms is not None:
            if dialect == "beta":
                raise unsupported(
                    config,
                    "turn_detection.idle_timeout_ms",
                    dialect,
                    "the beta protocol's server VAD has no idle timeout",
                )
            out["idle_timeout_ms"] = value.idle_timeout_ms
        out["create_response"] = value.create_response
        out["interrupt_response"] = value.interrupt_response
        return out
    if isinstance(value, SemanticVad):
        return {
            "type": "semantic_vad",
            "eagerness": value.eagerness,
            "create_response": value.create_response,
            "interrupt_response": value.interrupt_response,
        }
    assert_never(value)


def _tracing(value: Literal["auto"] | RealtimeTracingConfig | None) -> Any:
    if value is None or isinstance(value, str):
        return value  # null disables tracing, "auto" uses the service's defaults
    out: JsonObject = {}
    if value.workflow_name is not None:
        out["workflow_name"] = value.workflow_name
    if value.group_id is not None:
        out["group_id"] = value.group_id
    if value.metadata is not None:
        out["metadata"] = _plain(value.metadata)
    return out


def function_tool_json(definition: ToolDefinition) -> JsonObject:
    return {
        "type": "function",
        "name": definition.name,
        "description": definition.description,
        # A deep copy: a caller editing the payload must not edit the tool's schema.
        "parameters": _plain(definition.parameters),
    }


def _hosted_mcp_tool(definition: HostedMCPDefinition) -> JsonObject:
    return render_mcp_tool(
        server_label=definition.server_label,
        server_url=definition.server_url,
        allowed_tools=definition.allowed_tools,
        require_approval=definition.require_approval,
        headers=definition.headers,
        authorization=definition.authorization,
        server_description=definition.server_description,
    )


def _plain(value: Any) -> Any:
    """A deep copy as plain JSON containers (mappings → dict, sequences → list)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value
