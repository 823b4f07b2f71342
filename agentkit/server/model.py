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
conditions are evaluated against the session as it is when each response starts. Its place
in the script is read off the conversation, never kept per connection, so a conversation
replayed into a new session after a reconnect resumes where it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import orjson

from .script import CallTool, Condition, Say, Script, Step

__all__ = [
    "ConversationEntry",
    "FunctionCall",
    "Message",
    "ModelOutput",
    "ResponseModel",
    "ResponseRequest",
    "ScriptedModel",
    "fallback_reply",
    "spoken_directive",
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
    response_instructions: str | None = None
    """The `instructions` of the `response.create` itself (`None` when it gave none, and
    `instructions` is the session's): one-off directives live here."""


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

    def transcribe(self, audio_ms: float, entries: Sequence[ConversationEntry]) -> str:
        """What the caller said in a committed audio turn of `audio_ms` milliseconds, given the
        conversation before it (the server does no speech recognition)."""
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


@dataclass(frozen=True)
class _Position:
    """Where the conversation stands in the script: the steps left in the current turn."""

    steps: tuple[Step, ...]  # the rest of the turn (or greeting), up to its end
    next_turn: int  # index of the next turn not yet started
    said: frozenset[str] = frozenset()  # what the assistant said since the last tool output


@dataclass
class ScriptedModel:
    """A deterministic `ResponseModel` playing a `Script`.

    It keeps no state between calls: where the conversation stands in the script is derived
    from the conversation every time (`locate`). The caller lines are matched, in order,
    against the script's turns; the tool calls and outputs after the last caller line say how
    far into that turn the model got; an assistant message after the last tool output says the
    turn's follow-up was already spoken. So a client that reconnects to a fresh session and
    replays its history (`conversation.item.create` of the caller's lines, the function call
    and its output) then sends `response.create` gets the rest of the turn, exactly as if the
    connection had never dropped.

    Response instructions that ask for a fixed sentence (`Say exactly: "..."`, `Say: ...`,
    the runtime's guardrail safe-reply wording) are obeyed before anything else; see
    `spoken_directive`.
    """

    script: Script

    def transcribe(self, audio_ms: float, entries: Sequence[ConversationEntry] = ()) -> str:
        # The caller's next scripted line, whatever its mode: a runner may speak a text turn.
        position = self.locate(entries, "", ())
        if position.next_turn < len(self.script.turns):
            return self.script.turns[position.next_turn].user
        return ""

    def respond(self, request: ResponseRequest) -> Sequence[ModelOutput]:
        if request.response_instructions is not None:
            directed = spoken_directive(request.response_instructions)
            if directed is not None:
                return [Message(directed)]
        if request.out_of_band:
            topic = _last_user_text(request.entries) or request.instructions
            return [Message(f"Out-of-band reply: {topic.strip() or 'nothing to report'}.")]
        if request.idle_timeout:
            return [Message(self.script.idle_prompt)]
        position = self.locate(request.entries, request.instructions, request.tools)
        outputs = _run(position.steps, request)
        if outputs and not (
            isinstance(outputs[0], Message) and _normalize(outputs[0].text) in position.said
        ):
            return outputs
        last = request.entries[-1] if request.entries else None
        if last is not None and last.kind == "function_call_output":
            return [Message("Done.")]
        return [Message(self.script.fallback or fallback_reply(_last_user_text(request.entries)))]

    def locate(
        self, entries: Sequence[ConversationEntry], instructions: str, tools: Sequence[str]
    ) -> _Position:
        """Where `entries` stand in the script: the steps the model has yet to play.

        - Caller lines are matched (case and punctuation ignored) against the turns after the
          last matched one, then against the earlier ones; a line no turn covers leaves the
          script position where it was.
        - Before any caller line, the greeting is the turn.
        - The tool outputs after the last caller line count the tool calls of the turn that
          completed; the turn resumes after the last of them. An alternative is picked by
          its `when:` now only while none of its calls happened yet; once calls happened, the
          first alternative (then the default steps) whose calls match them, in order, is the
          one that was playing — the conditions may no longer hold (a handoff changed the
          tools), but the calls in the conversation do not change.
        - What the assistant said since the last tool output is in `said`: when the next part
          starts with exactly those words, it was already spoken (`respond` plays nothing);
          other assistant messages (a safe reply, a filler) do not consume the turn. A call
          still waiting for its output means the part was played.
        """
        turns = self.script.turns
        next_turn = 0
        candidates: list[tuple[Condition | None, tuple[Step, ...]]] = [(None, self.script.greeting)]
        tail_start = 0
        for index, entry in enumerate(entries):
            if entry.kind != "user":
                continue
            tail_start = index + 1
            wanted = _normalize(entry.text)
            candidates = []
            # The next turns first, then the earlier ones: a caller who asks an earlier
            # question again gets its answer again.
            for number in [*range(next_turn, len(turns)), *range(next_turn)]:
                turn = turns[number]
                if _normalize(turn.user) == wanted:
                    next_turn = number + 1
                    candidates = [(alt.when, alt.steps) for alt in turn.alternatives]
                    candidates.append((None, turn.steps))
                    break
        tail = entries[tail_start:]
        names = {e.call_id: e.name for e in tail if e.kind == "function_call" and e.call_id}
        answered = {e.call_id for e in tail if e.kind == "function_call_output"}
        done: list[str | None] = []  # the turn's completed calls, by tool name when known
        said: set[str] = set()
        waiting = False
        for entry in tail:
            if entry.kind == "function_call_output":
                done.append(names.get(entry.call_id) if entry.call_id else None)
                said.clear()
                waiting = False
            elif entry.kind == "assistant":
                said.add(_normalize(entry.text))
            elif entry.kind == "function_call" and entry.call_id not in answered:
                waiting = True
        if waiting:
            return _Position((), next_turn)
        if not done:
            for when, steps in candidates:
                if condition_holds(when, instructions, tools):
                    return _Position(steps, next_turn, frozenset(said))
            return _Position((), next_turn)
        consistent = [
            (when, rest)
            for when, steps in candidates
            if (rest := _after_calls(steps, done)) is not None
        ]
        for when, rest in consistent:
            if condition_holds(when, instructions, tools):
                return _Position(rest, next_turn, frozenset(said))
        return _Position(consistent[0][1] if consistent else (), next_turn, frozenset(said))


def _after_calls(steps: Sequence[Step], done: Sequence[str | None]) -> tuple[Step, ...] | None:
    """The steps after the `len(done)`-th tool call, matching call names where known (a call
    step whose name does not match was skipped by its condition); `None` when the steps
    cannot account for the calls."""
    if not done:
        return tuple(steps)
    matched = 0
    for index, step in enumerate(steps):
        if isinstance(step, Say):
            continue
        name = step.name if isinstance(step, CallTool) else step.tool_name
        if done[matched] is None or done[matched] == name:
            matched += 1
            if matched == len(done):
                return tuple(steps[index + 1 :])
    return None


def _run(steps: Sequence[Step], request: ResponseRequest) -> list[ModelOutput]:
    """Play `steps` up to and including the next tool call (a response ends with a call)."""
    context: dict[str, Any] = {"user": _last_user_text(request.entries)}
    output = _last_tool_output(request.entries)
    if output is not None:
        try:
            context["output"] = orjson.loads(output)
        except orjson.JSONDecodeError:
            context["output"] = output
    spoken: list[str] = []
    outputs: list[ModelOutput] = []
    for step in steps:
        if not condition_holds(step.when, request.instructions, request.tools):
            continue
        if isinstance(step, Say):
            spoken.append(render_template(step.text, context))
            continue
        if isinstance(step, CallTool):
            name, arguments = step.name, orjson.dumps(step.arguments).decode()
        else:
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


# The verbs and shapes of a "say this sentence" instruction: `Say: Hi`, `Say exactly: "Hi"`,
# `Respond with exactly: 'Hi'`, and the runtime's guardrail wording `Say exactly the following
# to the caller, word for word, and nothing else: "Hi"` (agentkit/_policy.py). The directive
# starts a sentence or a line; what sits between the verb and the colon is free (no quote,
# colon or newline), so `Say hello to the caller.` (no colon, no quote) is not a directive.
_DIRECTIVE = re.compile(
    r"""(?:^|(?<=[.!?;\n]))\s*(?:please\s+)?(?:say|reply|respond|answer)\b"""
    r"""(?:[^:"'\u201c\u2018\n]*?:\s*|\s+(?=["'\u201c\u2018]))(?P<rest>[^\n]*)""",
    re.IGNORECASE,
)
_CLOSING = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019"}


def spoken_directive(instructions: str) -> str | None:
    """The sentence `instructions` explicitly ask to be spoken, or `None`.

    A quoted sentence is taken up to its closing quote (a quote followed by a space, the end
    or punctuation, so an apostrophe inside `'I'm here'` does not close it); an unquoted one
    is the rest of the line.
    """
    for match in _DIRECTIVE.finditer(instructions):
        rest = match["rest"].strip()
        closing = _CLOSING.get(rest[:1])
        if closing is not None:
            end = re.search(re.escape(closing) + r"(?=\s|$|[.,;:!?)])", rest[1:])
            text = rest[1 : 1 + end.start()] if end else rest[1:]
        else:
            text = rest
        if text.strip():
            return text.strip()
    return None


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
