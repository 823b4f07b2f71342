"""The customer-service example's scripted calls, end to end: every conversation in
`examples/customer_service/conversations/` is played over real sockets against the local
server (fast pace), with the real tools on a fresh fixture database, and checked the way a
person would check a call: what the agents said, which tools ran with which arguments and
what they answered, who handed off to whom, and what the shop's database holds afterwards.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import agentkit_helpdesk as helpdesk  # installed with the project (make)
import orjson
import pytest

from agentkit.caller import Caller, CallerTurn
from agentkit.events import (
    AssistantTranscript,
    GuardrailTripped,
    HandoffEvent,
    SessionEvent,
    ToolEnd,
    ToolStart,
)
from agentkit.history import HistoryItem
from agentkit.loader import Definitions, load_definitions
from agentkit.runner import RealtimeRunner
from agentkit.server import LocalRealtimeServer, load_script
from agentkit.testing import RecordingCaller, arun_spec, contains
from agentkit.testing.report import format_result
from agentkit.transports import WebSocketTransport, realtime_url

HERE = Path(__file__).parents[3] / "examples" / "customer_service"
CONVERSATIONS = HERE / "conversations"


@dataclass
class Call:
    """One played conversation, as a reviewer reads it."""

    events: list[SessionEvent] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)

    def caller_turn(self, turn: CallerTurn) -> None:
        pass

    def turn_ended(self, at: float) -> None:
        pass

    def audio_sent(self, end_ms: float, at: float) -> None:
        pass

    def observe(self, event: SessionEvent, at: float) -> None:
        self.events.append(event)

    @property
    def said(self) -> list[str]:
        """The agents' finished lines, in order."""
        return [e.transcript for e in self.events if isinstance(e, AssistantTranscript)]

    @property
    def tools(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(tool, arguments, output) of every call, in order."""
        arguments = {e.call_id: orjson.loads(e.arguments) for e in self.events if isinstance(e, ToolStart)}
        return [
            (e.tool_name, arguments[e.call_id], orjson.loads(e.output))
            for e in self.events
            if isinstance(e, ToolEnd)
        ]

    @property
    def handoffs(self) -> list[tuple[str, str]]:
        return [(e.from_agent, e.to_agent) for e in self.events if isinstance(e, HandoffEvent)]


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return load_definitions(HERE / "agents.yaml", env={})


def module_of(definitions: Definitions, name: str) -> ModuleType:
    # The example's modules as the loader imported them (a private package per folder).
    package = definitions.tools["verify_customer"].func.__module__.rsplit(".", 1)[0]
    return sys.modules[f"{package}.{name}"]


@pytest.fixture
async def support(definitions: Definitions, tmp_path: Path) -> AsyncIterator[Any]:
    store = module_of(definitions, "store")
    today = date.today()
    context = store.SupportContext(
        store.create_database(today), today, helpdesk.HelpdeskQueue(tmp_path / "queue.sqlite3")
    )
    yield context
    context.close()


Play = Callable[[str], Any]


@pytest.fixture
def play(definitions: Definitions, support: Any) -> Play:
    async def run(name: str) -> Call:
        script = load_script(CONVERSATIONS / f"{name}.yaml")
        call = Call()
        async with LocalRealtimeServer(script=script, pace="fast") as server:
            runner: RealtimeRunner[Any] = RealtimeRunner(definitions, raw_events=True)
            transport = WebSocketTransport(
                realtime_url(definitions.settings.model, server.url), api_key="sk-test"
            )
            async with runner.session(transport, context=support) as session:
                async with Caller(
                    session, definitions.settings, pace="fast", observers=[call], turn_timeout=10
                ) as caller:
                    await caller.play(script)
                call.history = session.history.items()
        return call

    return run


def assert_one_output_per_call(history: list[HistoryItem]) -> None:
    calls = [i.call_id for i in history if i.kind == "function_call"]
    outputs = Counter(i.call_id for i in history if i.kind == "function_call_output")
    assert calls, "the conversation made function calls"
    assert {call_id: outputs[call_id] for call_id in calls} == dict.fromkeys(calls, 1)
    assert set(outputs) == set(calls)


GREETING = (
    "Thanks for calling Northwind Goods. Could I have the phone number on your account and "
    "one of your order numbers?"
)


async def test_every_conversation_file_is_tested() -> None:
    assert sorted(p.stem for p in CONVERSATIONS.glob("*.yaml")) == [
        "escalation", "failed_authentication", "impatient_return", "return", "sale",
    ]


RETURN_OFFERED = (
    "Eligible, with a 15% restocking fee because the item was opened. You would get back "
    "$110.49. Shall I start the return?"
)
RETURN_DONE = (
    "Done. Your return number is RMA-A1001-001, and the prepaid label is on its way to "
    "maya.chen@example.com."
)
VERIFIED = "Thanks Maya, you're verified. What can I do for you today?"


def assert_headphones_returned(call: Call, support: Any) -> None:
    """The opened headphones went back: the right tools, the handoff, the database row."""
    tools = call.tools
    assert [name for name, _, _ in tools] == ["verify_customer", "check_return_eligibility", "start_return"]
    assert tools[0][2] == {"verified": True, "first_name": "Maya", "tier": "gold"}
    _, arguments, eligibility = tools[1]
    assert arguments == {"order_number": "A1001", "sku": "HP-200", "condition": "opened", "quantity": 1}
    assert eligibility["eligible"] is True
    assert (eligibility["refund"], eligibility["restocking_fee"]) == ("$110.49", "$19.50")
    assert tools[2][2]["rma"] == "RMA-A1001-001"
    assert call.handoffs == [("authentication", "returns")]
    assert_one_output_per_call(call.history)
    row = support.db.execute(
        "SELECT r.rma, r.quantity, r.condition, r.refund_cents, i.sku, i.returned_quantity"
        " FROM returns r JOIN order_items i ON i.id = r.order_item_id"
    ).fetchall()
    assert [tuple(r) for r in row] == [("RMA-A1001-001", 1, "opened", 11049, "HP-200", 1)]


async def test_return_of_opened_headphones(play: Play, support: Any) -> None:
    call = await play("return")
    assert call.said == [GREETING, VERIFIED, RETURN_OFFERED, RETURN_DONE]
    assert not [e for e in call.events if isinstance(e, GuardrailTripped)]
    assert_headphones_returned(call, support)


async def test_impatient_return_trips_the_input_guardrail_and_still_completes(
    play: Play, support: Any
) -> None:
    call = await play("impatient_return")
    assert call.said == [
        GREETING,
        VERIFIED,
        RETURN_OFFERED,
        # The impatient turn trips civil_language: its scripted answer never shows, the
        # guardrail's safe reply is spoken instead, and the return waits for the next turn.
        "I want to help you with this. Let's keep it civil so we can sort it out together.",
        RETURN_DONE,
    ]
    trips = [e for e in call.events if isinstance(e, GuardrailTripped)]
    assert [(t.guardrail_name, t.stage, dict(t.details)) for t in trips] == [
        ("civil_language", "input", {"matched": "useless bot"})
    ]
    assert "Starting the return for you now." not in call.said
    assert_headphones_returned(call, support)


async def test_sale_fills_the_cart_with_the_gold_offer(play: Play, support: Any) -> None:
    call = await play("sale")
    assert call.said[1:] == [
        "Thanks Maya, you're verified. What can I do for you today?",
        "I found the Aurora wireless headphones at $129.99, and the Pebble bluetooth speaker at "
        "$49.99, but the speaker is out of stock right now.",
        "Good news: you can use GOLD20, 20% off anything for gold members, or AUDIO15, 15% off "
        "headphones and speakers.",
        "Done. Your cart has 1 Aurora wireless headphones at $103.99, so your total is $103.99.",
    ]
    tools = dict((name, (arguments, output)) for name, arguments, output in call.tools)
    assert list(tools) == ["verify_customer", "search_products", "list_offers", "add_to_cart"]
    products = tools["search_products"][1]["products"]
    assert [(p["sku"], p["in_stock"]) for p in products] == [("HP-200", True), ("SPK-10", False)]
    # Gold members see GOLD20 (any category) before AUDIO15; the expired SPRING5 never shows.
    assert [o["code"] for o in tools["list_offers"][1]["offers"]] == ["GOLD20", "AUDIO15"]
    assert tools["add_to_cart"][0] == {"sku": "HP-200", "quantity": 1, "offer_code": "GOLD20"}
    assert tools["add_to_cart"][1]["total"] == "$103.99"  # 20% off $129.99
    assert call.handoffs == [("authentication", "sales")]
    assert_one_output_per_call(call.history)
    cart = support.db.execute("SELECT customer_id, sku, quantity, offer_code FROM cart_items").fetchall()
    assert [tuple(r) for r in cart] == [(1, "HP-200", 1, "GOLD20")]
    assert support.db.execute("SELECT COUNT(*) FROM returns").fetchone()[0] == 0


async def test_failed_authentication_locks_out_and_files_a_ticket(play: Play, support: Any) -> None:
    call = await play("failed_authentication")
    verifications = [output for name, _, output in call.tools if name == "verify_customer"]
    assert [(v["verified"], v["attempts_left"], v["locked"]) for v in verifications] == [
        (False, 2, False), (False, 1, False), (False, 0, True),
    ]
    assert call.said[1] == (
        "The phone number and order number do not match an account. You have 2 tries left. "
        "Could you check the order number?"
    )
    assert call.said[-1] == (
        "A person will call you back. Your ticket is HD-000001, and you're number 1 in the "
        "queue, about 4 minutes."
    )
    assert call.handoffs == [("authentication", "escalation")]
    assert call.tools[-1][0] == "escalate_to_human"
    assert call.tools[-1][2] == {"ticket": "HD-000001", "position_in_queue": 1, "estimated_wait_minutes": 4}
    assert_one_output_per_call(call.history)
    assert support.customer_id is None  # never verified
    ticket = support.helpdesk_queue.get(1)
    assert (ticket.reason, ticket.priority, ticket.status) == ("other", "normal", "open")
    assert (ticket.customer, ticket.callback, ticket.agent) == (None, "312 555 0187", "escalation")
    assert "three attempts" in ticket.summary


async def test_return_outside_the_window_is_escalated(play: Play, support: Any) -> None:
    call = await play("escalation")
    delivered = date.today() - timedelta(days=65)
    window_end = delivered + timedelta(days=15)
    assert call.said[1:] == [
        "Thanks Lucia, you're verified. What can I do for you today?",
        f"I see order C3001, delivered on {delivered.isoformat()}, with the Pebble bluetooth speaker.",
        f"I'm sorry: The 15-day return window ended on {window_end:%B} {window_end.day}. "
        "I'm not able to make exceptions to the policy.",
        "I've passed your case to a person. Your ticket is HD-000001, you're number 1 in the "
        "queue, about 4 minutes.",
    ]
    names = [name for name, _, _ in call.tools]
    assert names == ["verify_customer", "lookup_order", "check_return_eligibility", "escalate_to_human"]
    eligibility = call.tools[2][2]
    assert eligibility["eligible"] is False and eligibility["return_by"] == window_end.isoformat()
    assert call.tools[3][1]["reason"] == "policy_exception"
    assert call.handoffs == [("authentication", "returns"), ("returns", "escalation")]
    assert_one_output_per_call(call.history)
    assert support.db.execute("SELECT COUNT(*) FROM returns").fetchone()[0] == 0
    ticket = support.helpdesk_queue.get(1)
    assert (ticket.reason, ticket.customer, ticket.agent) == (
        "policy_exception", "Lucia Romero (+12065550113)", "escalation",
    )
    assert "C3001" in ticket.summary


# -- the same calls through agentkit.testing: the spec file and the pytest plugin ------------


async def test_the_return_spec_passes() -> None:
    result = await arun_spec(Path(__file__).parents[2] / "data" / "specs" / "customer_service_return.spec.yaml")
    assert result.passed, format_result(result)
    assert [t.record.agent for t in result.turns if t.record] == ["authentication", "returns", "returns"]


@pytest.fixture
def agentkit_context(support: Any) -> Any:
    """The plugin's sessions use this test module's fixture database."""
    return support


@pytest.mark.agentkit(
    agents="../../../examples/customer_service/agents.yaml",
    script="../../../examples/customer_service/conversations/return.yaml",
)
async def test_return_with_the_plugins_caller(caller: RecordingCaller, support: Any) -> None:
    await caller.greet()
    assert caller.last.said == [GREETING]
    await caller.say("Sure, it's 415 555 0142, and the order is A1001.")
    caller.expect.tool_call("verify_customer", phone_number="415 555 0142", order_number="A1001")
    caller.expect.says(VERIFIED)
    await caller.say("I'd like to return the headphones. I opened them, but they're like new.")
    caller.expect.handoff("returns")
    caller.expect.tool_call("check_return_eligibility", sku="HP-200", condition="opened")
    caller.expect.says(RETURN_OFFERED)
    await caller.say("Yes, go ahead.")
    caller.expect.tool_call("start_return", order_number="A1001", reason=contains("no longer"))
    caller.expect.says(RETURN_DONE)
    caller.expect.agent("returns")
    row = support.db.execute("SELECT rma FROM returns").fetchall()
    assert [tuple(r) for r in row] == [("RMA-A1001-001",)]
