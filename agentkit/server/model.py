"""What produces the local server's responses: the `ResponseModel` protocol and the scripted model.

The session core asks a per-session `ResponseModel` two questions:

- `transcribe(audio_ms)` when a user audio turn is committed: the server does no ASR, so the
  model says what the caller said (the scripted model answers with the script's next line);
- `respond(request)` when a response starts: given the session's effective instructions and
  tools and a typed view of the conversation, return spoken/typed messages and function calls.

`ScriptedModel` plays a `Script` (see `agentkit.server.script`) turn by turn: it matches the
caller's line, runs the turn's steps up to and including the next tool call, and resumes
after the client returns the tool output — so a handoff (a `transfer_to_...` call followed
by a `session.update` to the new agent) visibly changes what happens next, because `when:`
conditions are evaluated against the session as it is when each response starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import orjson

from .script import CallTool, Condition, Handoff, Say, Script, Step

__all__ = [
    "ConversationEntry",
    "FunctionCall",
    "Message",
    "ModelOutput",
    "ResponseModel",
    "ResponseRequest",
    "ScriptedModel",
    "fallback_reply",
]


@dataclass(frozen=True)
class ConversationEntry:
    """One conversation item as the model sees it (text of audio turns as heard)."""

    kind: Literal["user", "assistant", "system", "function_call", "function_call_output"]
    text: str = ""
    name: str | None = None
    call_id: str | None = None
    output: str | None = None


@dataclass(frozen=True)
class ResponseRequest:
    """Everything a model may look at to produce one response."""

    instructions: str
    tools: tuple[str, ...]
    entries: tuple[ConversationEntry, ...]
    out_of_band: bool = False
    idle_timeout: bool = False
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class Message:
    """Say `text` (audio + transcript, or text, per the response's output modality)."""

    text: str


@dataclass(frozen=True)
class FunctionCall:
    """Call the tool `name` with JSON `arguments`."""

    name: str
    arguments: str


ModelOutput = Message | FunctionCall


class ResponseModel(Protocol):
    """Produces the responses of one session. One instance per session (it may keep state)."""

    def transcribe(self, audio_ms: float) -> str:
        """What the caller said in a committed audio turn of `audio_ms` milliseconds."""
        ...

    def respond(self, request: ResponseRequest) -> Sequence[ModelOutput]:
        """The output items of one response, in order."""
        ...


def fallback_reply(heard: str) -> str:
    """The deterministic answer to input no script covers."""
    if not heard.strip():
        return "Sorry, I didn't catch that. Could you say it again?"
    return f"Sorry, I can't help with that. You said: {heard.strip()}"


_NORMALIZE = re.compile(r"[^\w]+")


def _normalize(text: str) -> str:
    return _NORMALIZE.sub(" ", text.lower()).strip()


_TEMPLATE = re.compile(r"\{\{\s*([\w.\[\]]+)\s*\}\}")


def render_template(text: str, context: dict[str, Any]) -> str:
    """Replace `{{ output.field.sub }}` / `{{ user }}` with values from `context`.

    A path that does not resolve renders as `unknown` (the script author sees it in the
    transcript instead of the run crashing).
    """

    def lookup(match: re.Match[str]) -> str:
        value: Any = context
        for part in match.group(1).split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return "unknown"
        if isinstance(value, str):
            return value
        return orjson.dumps(value).decode()

    return _TEMPLATE.sub(lookup, text)


def condition_holds(condition: Condition | None, instructions: str, tools: Sequence[str]) -> bool:
    """Whether a `when:` condition holds for the session's current instructions and tools."""
    if condition is None:
        return True
    lowered = instructions.lower()
    return (
        all(name in tools for name in condition.has_tools)
        and not any(name in tools for name in condition.lacks_tools)
        and all(text.lower() in lowered for text in condition.instructions_contain)
        and not any(text.lower() in lowered for text in condition.instructions_lack)
    )


@dataclass
class ScriptedModel:
    """A deterministic `ResponseModel` playing a `Script`; create one per session."""

    script: Script
    _cursor: int = 0  # index of the next turn not yet played
    _pending: list[Step] = field(default_factory=list)
    _greeted: bool = False

    def transcribe(self, audio_ms: float) -> str:
        # The caller's next scripted line, whatever its mode: a runner may speak a text turn.
        if self._cursor < len(self.script.turns):
            return self.script.turns[self._cursor].user
        return ""

    def respond(self, request: ResponseRequest) -> Sequence[ModelOutput]:
        if request.out_of_band:
            topic = _last_user_text(request.entries) or request.instructions
            return [Message(f"Out-of-band reply: {topic.strip() or 'nothing to report'}.")]
        if request.idle_timeout:
            return [Message(self.script.idle_prompt)]
        last = request.entries[-1] if request.entries else None
        if last is not None and last.kind == "user":
            self._pending = self._start_turn(last.text, request)
        elif (
            not any(e.kind == "user" for e in request.entries)
            and not self._greeted
            and not self._pending
        ):
            self._greeted = True
            self._pending = list(self.script.greeting)
        outputs = self._run(request)
        if not outputs:
            heard = _last_user_text(request.entries)
            if last is not None and last.kind == "function_call_output":
                return [Message("Done.")]
            return [Message(self.script.fallback or fallback_reply(heard))]
        return outputs

    def _start_turn(self, heard: str, request: ResponseRequest) -> list[Step]:
        wanted = _normalize(heard)
        for index in range(self._cursor, len(self.script.turns)):
            turn = self.script.turns[index]
            if _normalize(turn.user) == wanted:
                self._cursor = index + 1
                for alternative in turn.alternatives:
                    if condition_holds(alternative.when, request.instructions, request.tools):
                        return list(alternative.steps)
                return list(turn.steps)
        return []

    def _run(self, request: ResponseRequest) -> list[ModelOutput]:
        context: dict[str, Any] = {"user": _last_user_text(request.entries)}
        output = _last_tool_output(request.entries)
        if output is not None:
            try:
                context["output"] = orjson.loads(output)
            except orjson.JSONDecodeError:
                context["output"] = output
        spoken: list[str] = []
        outputs: list[ModelOutput] = []
        while self._pending:
            step = self._pending.pop(0)
            if not condition_holds(step.when, request.instructions, request.tools):
                continue
            if isinstance(step, Say):
                spoken.append(render_template(step.text, context))
                continue
            if isinstance(step, CallTool):
                name, arguments = step.name, orjson.dumps(step.arguments).decode()
            else:
                assert isinstance(step, Handoff)
                name, arguments = step.tool_name, "{}"
                if name not in request.tools:
                    # The current agent cannot transfer there: the model does not call a tool
                    # it was not offered.
                    continue
            if spoken:
                outputs.append(Message(" ".join(spoken)))
                spoken = []
            outputs.append(FunctionCall(name, arguments))
            return outputs
        if spoken:
            outputs.append(Message(" ".join(spoken)))
        return outputs


def _last_user_text(entries: Sequence[ConversationEntry]) -> str:
    for entry in reversed(entries):
        if entry.kind == "user":
            return entry.text
    return ""


def _last_tool_output(entries: Sequence[ConversationEntry]) -> str | None:
    for entry in reversed(entries):
        if entry.kind == "function_call_output":
            return entry.output
        if entry.kind == "user":
            return None
    return None
