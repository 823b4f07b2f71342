"""The GPT-Live dialect of the compiler: an agent graph as `session.start` and, at a handoff,
a backend swap (`session.update` of the delegation plus `session.instructions.append`).

What Live cannot express is a `CompileError` naming the field, unless `LiveOptions.degrade`
names it (see `docs/live.md`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ..agent import RealtimeAgent
from ..protocol.live_config import (
    LIVE_AUDIO_FORMATS,
    LiveOptions,
    live_delegation,
    live_input_items,
    live_instructions_append,
    live_session_start,
    live_session_update,
)
from ..protocol.wire_types import JsonObject
from ..settings import AudioFormatName, SessionSettings, ToolChoiceFunction
from .sessions import SessionConfig, build_session_config, function_tool_json, unsupported

__all__ = ["compile_live_start", "compile_live_swap", "live_start"]

# --- Live ----------------------------------------------------------------------------------
# GPT-Live splits an agent: the voice layer (model, voice, one audio format, its own
# instructions, all fixed at startup) and the backend Responses model the work is delegated
# to, which gets the agent's instructions, tools and tool choice (openai.types.live).

_LIVE_UNSUPPORTED: Final[Mapping[str, str]] = {
    "turn_detection": "Live's turn detection is built in and has no settings",
    "input_transcription": "Live always transcribes the caller and has no transcription settings",
    "noise_reduction": "Live has no noise reduction setting",
    "speed": "Live has no speech speed setting",
    "temperature": "Live has no temperature",
    "tracing": "Live has no tracing setting",
    "truncation": "Live manages its context itself and has no truncation setting",
}


# Settings whose `None` means something (off, push-to-talk) that Live cannot express either.
_LIVE_NULL_MEANS: Final = frozenset({"turn_detection", "input_transcription", "noise_reduction", "tracing"})


def _live_check(config: SessionConfig, options: LiveOptions) -> None:
    s = config.settings
    for name, why in _LIVE_UNSUPPORTED.items():
        meant = getattr(s, name) is not None or name in _LIVE_NULL_MEANS
        if s.explicitly_set(name) and meant and name not in options.degrade:
            raise unsupported(config, name, "live", f"{why}; add {name!r} to LiveOptions.degrade")
    if s.explicitly_set("model") and not s.model.startswith("gpt-live") and "model" not in options.degrade:
        raise unsupported(
            config, "model", "live", f"{s.model!r} is not a Live model (Live runs "
            f"LiveOptions.model, {options.model!r}); add 'model' to LiveOptions.degrade",
        )
    if "audio" not in s.output_modalities:
        raise unsupported(config, "output_modalities", "live", "Live always answers with audio")
    if s.input_audio_format != s.output_audio_format:
        raise unsupported(
            config, "input_audio_format", "live", "Live uses one audio format both ways, not "
            f"{s.input_audio_format!r} in and {s.output_audio_format!r} out",
        )


def _live_delegation(config: SessionConfig, options: LiveOptions, *, update: bool) -> JsonObject:
    s = config.settings
    choice = s.tool_choice
    return live_delegation(
        backend_model=None if update else options.backend_model,
        instructions=config.instructions,
        tools=[function_tool_json(t) for t in config.tools],
        tool_choice=choice.model_dump() if isinstance(choice, ToolChoiceFunction) else choice,
        # "inf" is no limit, which is what leaving it out means.
        max_output_tokens=s.max_output_tokens if isinstance(s.max_output_tokens, int) else None,
        reasoning_effort=options.reasoning_effort,
        acknowledgement_delay_ms=None if update else options.acknowledgement_delay_ms,
    )


def live_start(
    config: SessionConfig,
    options: LiveOptions,
    history: Sequence[tuple[str, str]] = (),
    event_id: str | None = None,
) -> JsonObject:
    _live_check(config, options)
    model = config.settings.model
    return live_session_start(
        model=model if model.startswith("gpt-live") else options.model,
        audio_format=LIVE_AUDIO_FORMATS[config.settings.output_audio_format],
        voice=config.voice,
        instructions=options.voice_instructions,
        delegation=_live_delegation(config, options, update=False),
        input_items=live_input_items(history),
        event_id=event_id,
    )


def compile_live_start(
    agent: RealtimeAgent[Any],
    settings: SessionSettings | None = None,
    *,
    live: LiveOptions | None = None,
    history: Sequence[tuple[str, str]] = (),
    instructions: str | None = None,
    event_id: str | None = None,
) -> JsonObject:
    """The `session.start` that opens a GPT-Live session with `agent`.

    The voice layer gets `live.model`, the voice, one audio format and
    `live.voice_instructions`; the backend (`delegation: responses`, `live.backend_model`)
    the agent's instructions, function and handoff tools, tool choice, output limit and
    `live.reasoning_effort`. `history` (`(role, text)` pairs) becomes the startup `input`.

    Raises:
        CompileError: a setting Live cannot express that `live.degrade` does not name (turn
            detection, transcription, noise reduction, speed, temperature, tracing,
            truncation, a non-Live `model`); always: text-only output, two audio formats.
        DefinitionError: see `build_session_config`.
    """
    config = build_session_config(agent, settings, instructions=instructions)
    return live_start(config, live or LiveOptions(), history, event_id)


def compile_live_swap(
    agent: RealtimeAgent[Any],
    settings: SessionSettings | None,
    *,
    live: LiveOptions | None = None,
    session_voice: str | None,
    session_format: AudioFormatName,
    instructions: str | None = None,
) -> list[JsonObject]:
    """A Live handoff, as a backend swap: `session.update` of the delegation (the agent's
    instructions, tools, tool choice; the backend model stays), then a short
    `session.instructions.append` telling the voice layer who speaks now.

    Raises:
        CompileError: `agent` asks for another audio format than `session_format`, or for
            another voice than `session_voice` without `voice` in `live.degrade`; or see
            `compile_live_start`.
    """
    options = live or LiveOptions()
    config = build_session_config(agent, settings, instructions=instructions)
    _live_check(config, options)
    if config.settings.output_audio_format != session_format:
        raise unsupported(
            config, "output_audio_format", "live", f"the session's format ({session_format!r}) "
            "is fixed at startup",
        )
    if config.voice not in (None, session_voice) and "voice" not in options.degrade:
        raise unsupported(
            config, "voice", "live", f"the session's voice ({session_voice!r}) is fixed at "
            "startup; add 'voice' to LiveOptions.degrade to keep it",
        )
    note = f"The conversation is now handled by {agent.name}"
    if agent.handoff_description:
        note += f" ({agent.handoff_description.strip()})"
    return [
        live_session_update(_live_delegation(config, options, update=True)),
        live_instructions_append(note + ". Continue in that role."),
    ]
