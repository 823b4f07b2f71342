"""`agentkit run`: a definition runs live against the embedded local server and the console
shows the conversation, tool calls, handoffs and latencies; user mistakes exit 1 cleanly."""

from __future__ import annotations

import asyncio
import io
import queue
import sys
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit import audio
from agentkit.cli import main
from agentkit.server import LocalRealtimeServer

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "examples" / "customer_service" / "agents.yaml"
DATA = Path(__file__).parents[1] / "data" / "run"
TINY = DATA / "tiny_agent.py"
TINY_SCRIPT = DATA / "tiny_script.yaml"


@pytest.fixture(autouse=True)
def no_service_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hermetic: whatever the developer's shell has, these runs use the local server."""
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["run", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_script(
    capsys: pytest.CaptureFixture[str], script: Path, text: str, target: str, *argv: str
) -> tuple[int, str, str]:
    """`agentkit run TARGET --script SCRIPT --pace fast ...`, with SCRIPT written first."""
    script.write_text(text)
    return run(capsys, target, "--script", str(script), "--pace", "fast", *argv)


# -- the example, end to end ------------------------------------------------------------------


def test_example_runs_its_default_script(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, str(EXAMPLE), "--pace", "fast")
    assert status == 0, out + err
    assert "local realtime server" in out
    # The transcript: who speaks, with the lines built from the tools' answers.
    assert "authentication  Thanks Maya, you're verified. What can I do for you today?" in out
    assert "caller          Sorry. Yes, please go ahead.  (voice)" in out
    # The impatient turn trips the input guardrail; the safe reply is spoken instead.
    assert "⚠ guardrail civil_language tripped on input" in out
    assert "returns         I want to help you with this. Let's keep it civil" in out
    assert "error" not in out
    assert "returns         Done. Your return number is RMA-A1001-001" in out
    # Tool calls with their arguments and results.
    assert 'verify_customer(phone_number="415 555 0142", order_number="A1001")' in out
    assert 'check_return_eligibility(order_number="A1001", sku="HP-200", condition="opened", quantity=1)' in out
    assert '"refund":"$110.49"' in out
    # The handoff and the breadcrumbs tools left.
    assert "⇄ handoff authentication → returns" in out
    assert "· return RMA-A1001-001 started ($110.49)" in out
    # The latency summary: one row per caller turn, p50/p95, and per tool.
    assert "Response latency: end of caller speech → first agent audio" in out
    turns = [line for line in out.splitlines() if " voice " in line and line.rstrip().endswith(" ms")]
    assert len(turns) == 4
    assert " p50 " in out and " p95 " in out
    assert "Tool round trip" in out
    for tool in ("verify_customer", "check_return_eligibility", "start_return"):
        assert any(line.strip().startswith(tool) and line.rstrip().endswith(" ms") for line in out.splitlines())
    assert "✓ conversation completed: 4 caller turns, 3 tool calls, 1 handoff" in out
    assert "\x1b[" not in out  # not a terminal: plain text
    assert err == ""


def test_record_writes_the_agents_audio(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "agent.wav"
    status, out, _ = run(capsys, str(EXAMPLE), "--pace", "fast", "--record", str(target))
    assert status == 0, out
    with wave.open(str(target), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24_000)
        seconds = wav.getnframes() / wav.getframerate()
        samples = audio.pcm16_samples(wav.readframes(wav.getnframes()))
    # Four answers of 10-25 words at the local server's 165 words per minute.
    assert 20 < seconds < 40
    assert audio.rms_dbfs(samples.tobytes()) > -40  # speech, not silence
    assert f"agent audio saved to {target}" in out


def test_audio_in_sends_a_recording_resampled_to_the_sessions_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A 16 kHz recording of the caller's first line; the example's sessions take 8 kHz μ-law.
    speech = audio.synthesize_speech(
        "Sure, it's 415 555 0142, and the order is A1001.", sample_rate=16_000, engine="synthetic"
    )
    recording = tmp_path / "caller.wav"
    audio.write_wav(recording, speech, rate=16_000)
    status, out, err = run(capsys, str(EXAMPLE), "--pace", "fast", "--audio-in", str(recording))
    assert status == 0, out + err
    assert "♪ caller.wav (" in out
    # The server's VAD found the utterance; the scripted model heard it as the first turn.
    assert "Sure, it's 415 555 0142, and the order is A1001.  (heard)" in out
    assert 'verify_customer(phone_number="415 555 0142", order_number="A1001")' in out
    assert "Thanks Maya, you're verified." in out
    assert "✓ conversation completed: 1 caller turns, 1 tool calls, 0 handoffs" in out


# -- Python agents ------------------------------------------------------------------------------


def test_module_agent_from_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, f"{TINY}:agent", "--script", str(TINY_SCRIPT), "--pace", "fast")
    assert status == 0, out + err
    assert "weather  Hi, weather desk." in out
    assert 'get_weather(city="Lisbon")' in out
    assert "weather  It is sunny in Lisbon, up to 21 C." in out
    assert "caller   Great, book me a trip there.  (typed)" in out
    assert "⇄ handoff weather → travel" in out
    assert "travel   Travel desk here, let's book Lisbon." in out
    turns = [line for line in out.splitlines() if line.rstrip().endswith(" ms")]
    assert any(" typed " in line and " travel " in line for line in turns)


def test_push_to_talk_agent_gets_committed_turns(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, f"{TINY}:push_to_talk", "--script", str(TINY_SCRIPT), "--pace", "fast")
    assert status == 0, out + err
    assert "caller   What's the weather in Lisbon?  (push-to-talk)" in out
    assert "It is sunny in Lisbon, up to 21 C." in out
    rows = [line.split() for line in out.splitlines() if line.rstrip().endswith(" ms")]
    assert any("push-to-talk" in row and "weather" in row for row in rows)


def test_module_agent_with_settings_and_a_context_its_tool_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(
        capsys, f"{DATA / 'orders_agent.py'}:agent", "--script", str(DATA / "orders_script.yaml"),
        "--pace", "fast",
    )
    assert status == 0, out + err
    assert 'lookup_order(order_id="42")' in out
    assert "orders  Order 42 is shipped." in out  # the tool read ctx.context, not None
    opened: list[str] = sys.modules["order_db"].OPENED
    try:
        assert opened == ["opened", "closed"]  # one context for the session, closed after it
    finally:
        opened.clear()


def test_module_agent_by_import_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(DATA))
    status, out, err = run(capsys, "tiny_agent:agent", "--script", str(TINY_SCRIPT), "--pace", "fast")
    assert status == 0, out + err
    assert "✓ conversation completed: 2 caller turns, 1 tool calls, 1 handoff" in out


def test_interactive_reads_typed_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("What's the weather in Lisbon?\n/quit\nnever read\n"))
    status, out, err = run(
        capsys, f"{TINY}:agent", "--script", str(TINY_SCRIPT), "--pace", "fast", "--interactive"
    )
    assert status == 0, out + err
    assert "weather  Hi, weather desk." in out  # the script's greeting still plays
    assert "caller   What's the weather in Lisbon?  (typed)" in out
    assert "It is sunny in Lisbon" in out
    assert "never read" not in out
    assert "1 caller turns" in out


@pytest.mark.parametrize(("kind", "expected"), [
    ("closable", ["made Closable", "tool saw Closable", "closed"]),
    ("managed", ["made Managed", "entered", "tool saw Managed", "exited"]),
])
def test_context_is_made_once_and_closed_after_the_session(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kind: str, expected: list[str]
) -> None:
    monkeypatch.setenv("RUN_TEST_CONTEXT", kind)
    status, out, err = run(capsys, str(DATA / "context_agents.yaml"), "--pace", "fast")
    assert status == 0, out + err
    contexts = next(
        m for name, m in sys.modules.items()
        if name.endswith(".contexts") and Path(getattr(m, "__file__", "")) == DATA / "contexts.py"
    )
    events: list[str] = contexts.EVENTS
    try:
        assert events == expected
    finally:
        events.clear()


# -- user mistakes: one line on stderr, exit 1 --------------------------------------------------


def test_a_tool_that_raises_is_one_line_and_counted_its_traceback_only_with_verbose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = f"{DATA / 'raising_agent.py'}:agent"
    script = str(DATA / "raising_script.yaml")
    status, out, err = run(capsys, target, "--script", script, "--pace", "fast")
    assert status == 0, out + err
    assert "✗ tool lookup_order failed: ValueError: no order 42" in out
    assert "unexpected field 'order'; missing required field 'order_id'" in out
    assert "2 tool calls (2 failed)" in out
    assert "Traceback" not in out + err
    status, out, err = run(capsys, target, "--script", script, "--pace", "fast", "--verbose")
    assert status == 0
    assert "Traceback" in err and "ValueError: no order 42" in err


def test_a_typed_line_that_trips_an_input_guardrail_gets_the_safe_reply_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (
        "name: typed trip\n"
        "turns:\n"
        "  - user: you are a useless bot\n"
        "    mode: text\n"
        "    steps: [{say: This is never said.}]\n"
        "  - user: Thanks, bye.\n"
        "    mode: text\n"
        "    steps: [{say: Goodbye.}]\n"
    )
    status, out, err = run_script(
        capsys, tmp_path / "trip.yaml", text, str(EXAMPLE), "--turn-timeout", "5"
    )
    assert status == 0, out + err
    assert "guardrail civil_language tripped on input" in out
    assert "Let's keep it civil" in out and "This is never said" not in out
    assert "Goodbye." in out
    assert "conversation completed: 2 caller turns" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["missing.yaml"], "missing.yaml: file not found"),
    (["nothing-here"], "nothing-here: file not found (give a definition file like agents.yaml, or module:agent)"),
    ([str(Path(__file__).parents[1] / "data" / "bad_yaml" / "unknown_tool_ref.yaml")], "unknown tool"),
    ([f"{TINY}:not_an_agent"], "not_an_agent is a int, not a RealtimeAgent"),
    ([f"{TINY}:missing"], "has no attribute 'missing'"),
    (["no_such_module_xyz:agent"], "module 'no_such_module_xyz' not found"),
    ([f"{TINY}:agent"], "names no conversation script"),
    ([str(EXAMPLE), "--script", "nope.yaml"], "--script nope.yaml: file not found"),
    ([str(EXAMPLE), "--audio-in", "nope.wav"], "--audio-in nope.wav: file not found"),
    ([str(EXAMPLE), "--audio-in", str(EXAMPLE)], "not a readable PCM WAV file"),
    ([str(EXAMPLE), "--record", "/no/such/folder/out.wav"], "does not exist"),
    ([str(EXAMPLE), "--url", "ws://127.0.0.1:9/v1/realtime"], "cannot connect to ws://127.0.0.1:9/v1/realtime"),
])
def test_user_mistakes_exit_1_with_one_clear_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 1
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_script_naming_a_tool_no_agent_has_stops_the_run_before_it_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = tmp_path / "script.yaml"
    text = (
        "turns:\n  - user: Weather?\n    steps: [{say: One moment.}]\n"
        "  - user: And tomorrow?\n    steps:\n      - call: get_wether\n"
    )
    status, out, err = run_script(capsys, script, text, f"{TINY}:agent")
    assert status == 1
    assert out == ""  # nothing connected, no "conversation completed"
    assert err == (
        f"error: {script}:6:15: turns[1].steps[0].call: unknown tool 'get_wether' (did you mean "
        "'get_weather'?); expected a tool one of the agents has (get_weather, transfer_to_travel)\n"
    )


def test_warnings_about_the_definition_file_come_first_on_stderr_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    definitions = Path(__file__).parents[1] / "data" / "warnings" / "agents.yaml"
    text = "turns:\n  - user: Hello?\n    mode: text\n    steps: [{say: Hi there.}]\n"
    status, out, err = run_script(capsys, tmp_path / "script.yaml", text, str(definitions))
    assert status == 0, out + err
    assert "support  Hi there." in out and "✓ conversation completed" in out
    lines = err.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"warning: {definitions}:") for line in lines)
    assert "'tools:' is part of the instructions text, not a key (over-indented?)" in lines[2]


def test_a_turn_nobody_answers_fails_with_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # An empty spoken line is only silence: VAD hears no turn, so no response ever starts.
    script = tmp_path / "script.yaml"
    script.write_text("turns:\n  - user: ''\n    steps: [{say: never}]\n")
    status, out, _ = run(capsys, f"{TINY}:agent", "--script", str(script), "--pace", "fast")
    assert status == 1
    assert "✗ the agent did not answer turn 1" in out


# -- where it connects --------------------------------------------------------------------------


@pytest.fixture
def served_elsewhere() -> Iterator[str]:
    """A local server on its own event loop and thread, like a service the run connects to."""
    ready: queue.Queue[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        async with LocalRealtimeServer(script=TINY_SCRIPT, pace="fast") as server:
            ready.put((server.url, asyncio.get_running_loop(), stop))
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),))
    thread.start()
    url, loop, stop = ready.get(timeout=10)
    try:
        yield url
    finally:
        # Woken from this thread on the server's own loop: no polling, no sleep.
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)


def test_url_connects_there_instead_of_starting_a_server(
    capsys: pytest.CaptureFixture[str], served_elsewhere: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio, "espeak_available", lambda: False)
    status, out, err = run(
        capsys, f"{TINY}:agent", "--script", str(TINY_SCRIPT), "--url", served_elsewhere
    )
    assert status == 0, out + err
    assert f"→ {served_elsewhere}?model=gpt-realtime" in out
    assert "local realtime server" not in out
    # A real service transcribes speech: without espeak-ng, spoken turns go as text.
    assert "espeak-ng is not installed" in out
    assert "caller   What's the weather in Lisbon?  (typed)" in out
    assert "It is sunny in Lisbon, up to 21 C." in out


def test_log_level_debug_logs_to_stderr_and_never_the_key(
    capsys: pytest.CaptureFixture[str], served_elsewhere: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-0123456789abcdefghij"
    monkeypatch.setenv("OPENAI_API_KEY", secret)  # sent to --url as the bearer token
    monkeypatch.setattr(audio, "espeak_available", lambda: False)
    status = main([
        "--log-level", "debug",
        "run", f"{TINY}:agent", "--script", str(TINY_SCRIPT), "--url", served_elsewhere,
    ])
    out, err = capsys.readouterr()
    assert status == 0, out + err
    debug = [line for line in err.splitlines() if " DEBUG agentkit." in line]
    assert debug, err
    assert "Authorization: Bearer [redacted]" in err  # the handshake is logged, the key is not
    assert secret not in err and secret not in out
    # Only for that command: the next one logs nothing.
    assert main(["validate", str(EXAMPLE)]) == 0
    assert capsys.readouterr().err == ""


def test_log_level_may_follow_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys, f"{TINY}:agent", "--script", str(TINY_SCRIPT), "--pace", "fast", "--log-level", "debug"
    )
    assert status == 0, out + err
    assert " DEBUG agentkit." in err
