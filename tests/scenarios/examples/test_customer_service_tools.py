"""The customer-service example's tools, policy and guardrail, against its real fixture DB."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import agentkit_helpdesk as helpdesk
import pytest

from agentkit import RunContext
from agentkit.loader import Definitions, load_definitions

EXAMPLE = Path(__file__).parents[3] / "examples" / "customer_service" / "agents.yaml"
TODAY = date(2025, 3, 10)


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return load_definitions(EXAMPLE, env={})


def module_of(definitions: Definitions, name: str) -> ModuleType:
    # The example's modules as the loader imported them (a private package per folder).
    package = definitions.tools["verify_customer"].func.__module__.rsplit(".", 1)[0]
    return sys.modules[f"{package}.{name}"]


@pytest.fixture
def support(definitions: Definitions, tmp_path: Path) -> Iterator[Any]:
    store = module_of(definitions, "store")
    context = store.SupportContext(
        store.create_database(TODAY), TODAY, helpdesk.HelpdeskQueue(tmp_path / "q.sqlite3")
    )
    yield context
    context.close()


def call(definitions: Definitions, support: Any, tool: str, **arguments: Any) -> Any:
    """Run a tool the way the runtime does: validate the JSON arguments, bind, call."""
    function_tool = definitions.tools[tool]
    parsed = function_tool.parse_arguments(arguments)
    return function_tool.bind(RunContext(support), parsed)()


def verified(definitions: Definitions, support: Any, phone: str = "415-555-0142", order: str = "A1001") -> Any:
    result = call(definitions, support, "verify_customer", phone_number=phone, order_number=order)
    assert result["verified"], result
    return support


# -- verification ---------------------------------------------------------------------------


def test_verify_accepts_spoken_formats(definitions: Definitions, support: Any) -> None:
    result = call(definitions, support, "verify_customer", phone_number="+1 (415) 555 0142", order_number="a-1001")
    assert result == {"verified": True, "first_name": "Maya", "tier": "gold"}
    assert support.customer_id == 1
    assert support.helpdesk_customer == "Maya Chen (+14155550142)"


def test_verify_rejects_someone_elses_order(definitions: Definitions, support: Any) -> None:
    # Daniel's phone with Maya's order: both exist, but not together.
    result = call(definitions, support, "verify_customer", phone_number="3125550187", order_number="A1001")
    assert result["verified"] is False and result["attempts_left"] == 2
    assert support.customer_id is None


def test_verify_locks_out_after_three_failures(definitions: Definitions, support: Any) -> None:
    for _ in range(3):
        call(definitions, support, "verify_customer", phone_number="0000000000", order_number="A1001")
    locked = call(definitions, support, "verify_customer", phone_number="4155550142", order_number="A1001")
    assert locked["locked"] is True and locked["verified"] is False
    assert support.customer_id is None


def test_order_tools_need_verification(definitions: Definitions, support: Any) -> None:
    assert call(definitions, support, "lookup_order", order_number="A1001")["error"] == "not_verified"
    assert call(definitions, support, "list_offers", category=None)["error"] == "not_verified"


# -- orders and returns ---------------------------------------------------------------------


def test_lookup_order_only_sees_own_orders(definitions: Definitions, support: Any) -> None:
    verified(definitions, support)
    order = call(definitions, support, "lookup_order", order_number="A1001")
    assert order["status"] == "delivered"
    assert order["delivered_on"] == (TODAY - timedelta(days=9)).isoformat()
    assert [i["sku"] for i in order["items"]] == ["HP-200", "CHG-65"]
    assert call(definitions, support, "lookup_order", order_number="B2001")["found"] is False


def test_opened_electronics_pay_a_restocking_fee(definitions: Definitions, support: Any) -> None:
    verified(definitions, support)
    result = call(
        definitions, support, "check_return_eligibility",
        order_number="A1001", sku="HP-200", condition="opened", quantity=1,
    )
    assert result["eligible"] is True
    assert result["refund"] == "$110.49" and result["restocking_fee"] == "$19.50"  # 15%, rounded
    # Gold member: 15-day electronics window + 15 days.
    assert result["return_by"] == (TODAY - timedelta(days=9) + timedelta(days=30)).isoformat()


def test_start_return_issues_rma_and_blocks_a_second_return(definitions: Definitions, support: Any) -> None:
    verified(definitions, support)
    args = {"order_number": "A1001", "sku": "CHG-65", "condition": "unopened"}
    started = call(definitions, support, "start_return", quantity=2, reason="spare", **args)
    assert started["started"] is True
    assert started["rma"] == "RMA-A1001-001"
    assert started["refund"] == "$69.98"
    assert started["label_sent_to"] == "maya.chen@example.com"
    again = call(definitions, support, "check_return_eligibility", quantity=1, **args)
    assert again == {"eligible": False, "reason": "This item was already returned."}
    row = support.db.execute("SELECT returned_quantity FROM order_items WHERE sku = 'CHG-65'").fetchone()
    assert row[0] == 2


def test_start_return_refuses_what_the_policy_refuses(definitions: Definitions, support: Any) -> None:
    verified(definitions, support)
    # A1002 was delivered 40 days ago: inside Maya's gold apparel window (45 days), but
    # used items and final-sale items are refused regardless.
    jacket = call(
        definitions, support, "start_return",
        order_number="A1002", sku="JKT-RN", quantity=1, condition="used", reason="worn once",
    )
    assert jacket["eligible"] is False and "Used items" in jacket["reason"]
    tee = call(
        definitions, support, "check_return_eligibility",
        order_number="A1002", sku="TEE-03", condition="unopened", quantity=1,
    )
    assert tee["eligible"] is False and "Final-sale" in tee["reason"]
    assert support.db.execute("SELECT COUNT(*) FROM returns").fetchone()[0] == 0


def test_standard_customer_hygiene_and_window(definitions: Definitions, support: Any) -> None:
    verified(definitions, support, phone="3125550187", order="B2001")
    brush = call(
        definitions, support, "check_return_eligibility",
        order_number="B2001", sku="TBR-05", condition="opened", quantity=1,
    )
    assert brush["eligible"] is False and "hygiene" in brush["reason"]
    # Electronics, 20 days after delivery, standard tier: the 15-day window is over...
    late = call(
        definitions, support, "check_return_eligibility",
        order_number="B2001", sku="HP-200", condition="unopened", quantity=1,
    )
    assert late["eligible"] is False and "15-day return window ended" in late["reason"]
    # ...unless it is defective.
    defective = call(
        definitions, support, "check_return_eligibility",
        order_number="B2001", sku="HP-200", condition="defective", quantity=1,
    )
    assert defective["eligible"] is True and defective["refund"] == "$129.99"
    in_transit = call(
        definitions, support, "check_return_eligibility",
        order_number="B2002", sku="LMP-01", condition="unopened", quantity=1,
    )
    assert in_transit["eligible"] is False and "not been delivered" in in_transit["reason"]


def test_unknown_item_names_the_order_items(definitions: Definitions, support: Any) -> None:
    verified(definitions, support)
    result = call(
        definitions, support, "check_return_eligibility",
        order_number="A1001", sku="XX-1", condition="unopened", quantity=1,
    )
    assert result["eligible"] is False and "HP-200, CHG-65" in result["reason"]


# -- the policy on its own ------------------------------------------------------------------


@pytest.fixture
def policy(definitions: Definitions) -> ModuleType:
    return module_of(definitions, "policy")


@pytest.mark.parametrize(
    ("category", "days", "condition", "tier", "eligible", "refund"),
    [
        ("apparel", 30, "unopened", "standard", True, 10_000),  # last day of the window
        ("apparel", 31, "unopened", "standard", False, 0),
        ("apparel", 45, "opened", "gold", True, 10_000),  # gold: 30 + 15 days
        ("electronics", 15, "opened", "standard", True, 8_500),  # 15% restocking fee
        ("electronics", 16, "opened", "standard", False, 0),
        ("home", 10, "used", "standard", False, 0),
        ("personal_care", 3, "unopened", "standard", True, 10_000),
        ("gift_card", 1, "defective", "gold", False, 0),
        ("home", 90, "arrived_damaged", "standard", True, 10_000),
        ("home", 91, "arrived_damaged", "standard", False, 0),
    ],
)
def test_policy_rules(
    policy: ModuleType, category: str, days: int, condition: str, tier: str, eligible: bool, refund: int
) -> None:
    purchase = policy.Purchase(category, 10_000, 1, 0, TODAY - timedelta(days=days))
    result = policy.ReturnPolicy().evaluate(purchase, condition=condition, quantity=1, tier=tier, today=TODAY)
    assert (result.eligible, result.refund_cents) == (eligible, refund), result.reason


def test_policy_quantity_limits(policy: ModuleType) -> None:
    purchase = policy.Purchase("home", 1_000, 3, 1, TODAY)
    rules = policy.ReturnPolicy()
    assert rules.evaluate(purchase, condition="unopened", quantity=2, tier="standard", today=TODAY).refund_cents == 2_000
    too_many = rules.evaluate(purchase, condition="unopened", quantity=3, tier="standard", today=TODAY)
    assert not too_many.eligible and "Only 2" in too_many.reason


# -- sales ----------------------------------------------------------------------------------


def test_offers_depend_on_tier_and_expiry(definitions: Definitions, support: Any) -> None:
    verified(definitions, support)
    gold = {o["code"] for o in call(definitions, support, "list_offers", category=None)["offers"]}
    assert gold == {"GOLD20", "AUDIO15", "HOME10"}  # SPRING5 expired yesterday
    electronics = call(definitions, support, "list_offers", category="electronics")["offers"]
    assert {o["code"] for o in electronics} == {"GOLD20", "AUDIO15"}


def test_add_to_cart_applies_offer_and_checks_stock(definitions: Definitions, support: Any) -> None:
    verified(definitions, support, phone="3125550187", order="B2001")
    found = call(definitions, support, "search_products", query="headphones")["products"]
    assert [p["sku"] for p in found] == ["HP-200"]
    added = call(definitions, support, "add_to_cart", sku="hp-200", quantity=2, offer_code="audio15")
    assert added["added"] is True and added["total"] == "$220.98"  # 2 x 129.99 less 15%
    gold_only = call(definitions, support, "add_to_cart", sku="MUG-02", quantity=1, offer_code="GOLD20")
    assert gold_only["added"] is False and "not available" in gold_only["message"]
    wrong_category = call(definitions, support, "add_to_cart", sku="MUG-02", quantity=1, offer_code="AUDIO15")
    assert wrong_category["added"] is False and "only applies to electronics" in wrong_category["message"]
    sold_out = call(definitions, support, "add_to_cart", sku="SPK-10", quantity=1, offer_code=None)
    assert sold_out == {"added": False, "message": "Out of stock."}


# -- escalation through the plugin, and the guardrail ---------------------------------------


def test_escalation_files_a_ticket_with_the_caller(definitions: Definitions, support: Any) -> None:
    verified(definitions, support)
    result = call(
        definitions, support, "escalate_to_human",
        reason="policy_exception", summary="Wants a refund past the window", priority="normal",
        callback_number=None,
    )
    assert result["ticket"] == "HD-000001" and result["position_in_queue"] == 1
    ticket = support.helpdesk_queue.get(1)
    assert ticket.customer == "Maya Chen (+14155550142)"
    status = call(definitions, support, "ticket_status", ticket="HD-000001")
    assert status["status"] == "open"


def test_context_factory_builds_a_fresh_shop(definitions: Definitions) -> None:
    assert definitions.context_factory is not None
    with definitions.context_factory() as first, definitions.context_factory() as second:
        verified(definitions, first)
        call(definitions, first, "add_to_cart", sku="MUG-02", quantity=1, offer_code=None)
        assert second.db.execute("SELECT COUNT(*) FROM cart_items").fetchone()[0] == 0
        assert first.today == date.today()


@pytest.mark.parametrize(
    ("text", "trips"),
    [
        ("Your card 4111 1111 1111 1111 is on file.", True),
        ("The card ending four one one one, that is four one one one one one one one one one one one one one one one.", True),
        ("Your order A1001 ships to 415 555 0142.", False),
        ("Reference 1234 5678 9012 3456 is not a card number.", False),  # fails the Luhn check
    ],
)
async def test_no_card_numbers(definitions: Definitions, text: str, trips: bool) -> None:
    guard = definitions.agents["returns"].output_guardrails[0]
    assert guard.name == "no_card_numbers"
    result = await guard.run(RunContext(None), text)
    assert result.tripwire_triggered is trips
