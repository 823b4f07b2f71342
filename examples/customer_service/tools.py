"""The support desk's tools: verify the caller, look up orders, returns, offers and the cart.

Every tool takes `ctx: RunContext[SupportContext]` (injected by the runtime, never seen by the
model) and answers with a small dict the model can read out. Expected refusals (wrong order
number, window closed, out of stock) are answers, not exceptions: the model should explain
them to the caller. Only a broken invariant raises.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from typing import Annotated, Any, get_args

from agentkit import RunContext, tool

from .policy import Condition, Eligibility, Purchase, ReturnPolicy, Tier, percent_of
from .store import SupportContext

__all__ = [
    "MAX_VERIFICATION_ATTEMPTS",
    "POLICY",
    "add_to_cart",
    "check_return_eligibility",
    "list_offers",
    "lookup_order",
    "search_products",
    "start_return",
    "verify_customer",
]

MAX_VERIFICATION_ATTEMPTS = 3
POLICY = ReturnPolicy()

_NOT_VERIFIED = {
    "error": "not_verified",
    "message": "The caller is not verified yet; verify them before discussing orders.",
}


def _money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _order_key(text: str) -> str:
    """`a-1001`, `A 1001` → `A1001`: transcripts spell order numbers many ways."""
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


@tool(timeout=5)
def verify_customer(
    ctx: RunContext[SupportContext],
    phone_number: Annotated[str, "The phone number on the account, digits as the caller said them."],
    order_number: Annotated[str, "Any order number of theirs, like A1001."],
) -> dict[str, Any]:
    """Verify the caller: the phone number on their account plus one of their order numbers.

    Both must belong to the same customer. After three failed attempts the caller is locked
    out and must be escalated to a person.
    """
    support = ctx.context
    if support.failed_verifications >= MAX_VERIFICATION_ATTEMPTS:
        return {"verified": False, "locked": True, "message": "Too many failed attempts; escalate to a person."}
    phone = _digits(phone_number)[-10:]
    with support.lock:
        row = support.db.execute(
            "SELECT c.id, c.name, c.tier, c.phone FROM customers c"
            " JOIN orders o ON o.customer_id = c.id WHERE o.number = ?",
            (_order_key(order_number),),
        ).fetchone()
    if row is None or len(phone) < 10 or _digits(row["phone"])[-10:] != phone:
        support.failed_verifications += 1
        left = MAX_VERIFICATION_ATTEMPTS - support.failed_verifications
        return {
            "verified": False,
            "locked": left == 0,
            "attempts_left": left,
            "message": "The phone number and order number do not match an account.",
        }
    support.customer_id = row["id"]
    support.failed_verifications = 0
    ctx.add_breadcrumb(f"caller verified as customer {row['id']}")
    return {"verified": True, "first_name": row["name"].split()[0], "tier": row["tier"]}


def _order_rows(support: SupportContext, order_number: str) -> tuple[sqlite3.Row | None, list[sqlite3.Row]]:
    with support.lock:
        order = support.db.execute(
            "SELECT * FROM orders WHERE number = ? AND customer_id = ?",
            (_order_key(order_number), support.customer_id),
        ).fetchone()
        if order is None:
            return None, []
        items = support.db.execute(
            "SELECT i.*, p.name, p.category, p.final_sale FROM order_items i"
            " JOIN products p ON p.sku = i.sku WHERE i.order_number = ? ORDER BY i.id",
            (order["number"],),
        ).fetchall()
    return order, items


def _purchase(order: sqlite3.Row, item: sqlite3.Row) -> Purchase:
    delivered = order["delivered_on"]
    return Purchase(
        category=item["category"],
        unit_price_cents=item["unit_price_cents"],
        quantity=item["quantity"],
        returned_quantity=item["returned_quantity"],
        delivered_on=date.fromisoformat(delivered) if order["status"] == "delivered" and delivered else None,
        final_sale=bool(item["final_sale"]),
    )


def _tier(support: SupportContext) -> Tier:
    with support.lock:
        row = support.db.execute("SELECT tier FROM customers WHERE id = ?", (support.customer_id,)).fetchone()
    tier = row["tier"]
    assert tier in get_args(Tier), tier  # the schema's CHECK constraint guarantees it
    return tier  # type: ignore[no-any-return]


def _verdict(result: Eligibility) -> dict[str, Any]:
    out: dict[str, Any] = {"eligible": result.eligible, "reason": result.reason}
    if result.eligible:
        out["refund"] = _money(result.refund_cents)
        if result.restocking_fee_cents:
            out["restocking_fee"] = _money(result.restocking_fee_cents)
    if result.return_by is not None:
        out["return_by"] = result.return_by.isoformat()
    return out


@tool(timeout=5)
def lookup_order(
    ctx: RunContext[SupportContext],
    order_number: Annotated[str, "The order number, like A1001."],
) -> dict[str, Any]:
    """Look up one of the verified caller's orders: status, delivery date and items."""
    support = ctx.context
    if support.customer_id is None:
        return dict(_NOT_VERIFIED)
    order, items = _order_rows(support, order_number)
    if order is None:
        return {"found": False, "message": f"No order {_order_key(order_number)} on this account."}
    return {
        "found": True,
        "order_number": order["number"],
        "status": order["status"],
        "placed_on": order["placed_on"],
        "delivered_on": order["delivered_on"],
        "items": [
            {
                "sku": item["sku"],
                "name": item["name"],
                "quantity": item["quantity"],
                "returned": item["returned_quantity"],
                "price": _money(item["unit_price_cents"]),
                "final_sale": bool(item["final_sale"]),
            }
            for item in items
        ],
    }


def _evaluate(
    support: SupportContext, order_number: str, sku: str, condition: Condition, quantity: int
) -> tuple[Eligibility | dict[str, Any], sqlite3.Row | None]:
    if support.customer_id is None:
        return dict(_NOT_VERIFIED), None
    order, items = _order_rows(support, order_number)
    if order is None:
        return {"eligible": False, "reason": f"No order {_order_key(order_number)} on this account."}, None
    item = next((i for i in items if i["sku"] == sku.strip().upper()), None)
    if item is None:
        skus = ", ".join(i["sku"] for i in items)
        return {"eligible": False, "reason": f"Order {order['number']} has no item {sku} (it has {skus})."}, None
    result = POLICY.evaluate(
        _purchase(order, item),
        condition=condition,
        quantity=quantity,
        tier=_tier(support),
        today=support.today,
    )
    return result, item


@tool(timeout=5)
def check_return_eligibility(
    ctx: RunContext[SupportContext],
    order_number: Annotated[str, "The order number."],
    sku: Annotated[str, "The item's SKU, from lookup_order."],
    condition: Annotated[Condition, "The item's condition as the caller describes it."],
    quantity: Annotated[int, "How many of the item to return."],
) -> dict[str, Any]:
    """Check an item against the return policy before offering a return.

    Says whether it can be returned, why (in a sentence you can say to the caller), the refund
    and any restocking fee, and the last day to start the return.
    """
    result, _ = _evaluate(ctx.context, order_number, sku, condition, quantity)
    return result if isinstance(result, dict) else _verdict(result)


@tool(timeout=5)
def start_return(
    ctx: RunContext[SupportContext],
    order_number: Annotated[str, "The order number."],
    sku: Annotated[str, "The item's SKU."],
    quantity: Annotated[int, "How many to return."],
    condition: Annotated[Condition, "The item's condition."],
    reason: Annotated[str, "The caller's reason, in a few words."],
) -> dict[str, Any]:
    """Start a return the caller has agreed to: issues an RMA number and a prepaid label.

    Only call it after check_return_eligibility said eligible and the caller confirmed the
    refund amount.
    """
    support = ctx.context
    result, item = _evaluate(support, order_number, sku, condition, quantity)
    if isinstance(result, dict):
        return result
    if not result.eligible or item is None:
        return _verdict(result)
    with support.lock, support.db:
        count = support.db.execute("SELECT COUNT(*) FROM returns").fetchone()[0]
        rma = f"RMA-{item['order_number']}-{count + 1:03d}"
        support.db.execute(
            "INSERT INTO returns (rma, order_item_id, quantity, condition, reason, refund_cents, created_on)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rma, item["id"], quantity, condition, reason.strip(), result.refund_cents, support.today.isoformat()),
        )
        support.db.execute(
            "UPDATE order_items SET returned_quantity = returned_quantity + ? WHERE id = ?",
            (quantity, item["id"]),
        )
        email = support.db.execute(
            "SELECT email FROM customers WHERE id = ?", (support.customer_id,)
        ).fetchone()["email"]
    ctx.add_breadcrumb(f"return {rma} started ({_money(result.refund_cents)})")
    return {
        "started": True,
        "rma": rma,
        "refund": _money(result.refund_cents),
        "label_sent_to": email,
        "next_steps": "Pack the item, attach the emailed label, and drop it off within 14 days. "
        "The refund goes to the original payment method once the item arrives.",
    }


@tool(timeout=5)
def search_products(
    ctx: RunContext[SupportContext],
    query: Annotated[str, "Words from the product's name or its category, like 'headphones'."],
) -> dict[str, Any]:
    """Find products by name or category, with price and whether they are in stock."""
    words = [w for w in re.split(r"\W+", query.lower()) if len(w) > 2] or [query.lower().strip()]
    clause = " OR ".join(["lower(name) LIKE ? OR category LIKE ?"] * len(words))
    params = [p for w in words for p in (f"%{w}%", f"%{w}%")]
    with ctx.context.lock:
        rows = ctx.context.db.execute(
            f"SELECT * FROM products WHERE category != 'gift_card' AND ({clause}) ORDER BY name",
            params,
        ).fetchall()
    return {
        "products": [
            {
                "sku": r["sku"],
                "name": r["name"],
                "category": r["category"],
                "price": _money(r["price_cents"]),
                "in_stock": r["stock"] > 0,
            }
            for r in rows
        ]
    }


def _offers(support: SupportContext, tier: str) -> list[sqlite3.Row]:
    with support.lock:
        rows = support.db.execute(
            "SELECT * FROM offers WHERE valid_until >= ? AND (gold_only = 0 OR ? = 'gold')"
            " ORDER BY percent_off DESC",
            (support.today.isoformat(), tier),
        ).fetchall()
    return list(rows)


@tool(timeout=5)
def list_offers(
    ctx: RunContext[SupportContext],
    category: Annotated[str | None, "Only offers for this category (electronics, apparel, home); null for all."],
) -> dict[str, Any]:
    """The offers the verified caller can use today (some are for gold members only)."""
    support = ctx.context
    if support.customer_id is None:
        return dict(_NOT_VERIFIED)
    offers = [
        {
            "code": o["code"],
            "description": o["description"],
            "percent_off": o["percent_off"],
            "valid_until": o["valid_until"],
        }
        for o in _offers(support, _tier(support))
        if category is None or o["category"] in (None, category)
    ]
    return {"offers": offers}


@tool(timeout=5)
def add_to_cart(
    ctx: RunContext[SupportContext],
    sku: Annotated[str, "The product's SKU, from search_products."],
    quantity: Annotated[int, "How many."],
    offer_code: Annotated[str | None, "An offer code from list_offers to apply, or null."],
) -> dict[str, Any]:
    """Add a product to the verified caller's cart, optionally with an offer code.

    Checks stock and that the offer applies to this product and this caller. Answers with
    the cart's contents and total.
    """
    support = ctx.context
    if support.customer_id is None:
        return dict(_NOT_VERIFIED)
    if quantity < 1:
        return {"added": False, "message": "The quantity must be at least one."}
    key = sku.strip().upper()
    with support.lock:
        product = support.db.execute("SELECT * FROM products WHERE sku = ?", (key,)).fetchone()
    if product is None:
        return {"added": False, "message": f"There is no product {key}."}
    if product["stock"] < quantity:
        left = product["stock"]
        return {"added": False, "message": f"Only {left} in stock." if left else "Out of stock."}
    code = offer_code.strip().upper() if offer_code else None
    if code is not None:
        usable = {o["code"]: o for o in _offers(support, _tier(support))}
        offer = usable.get(code)
        if offer is None:
            return {"added": False, "message": f"Offer {code} is not available to this caller today."}
        if offer["category"] is not None and offer["category"] != product["category"]:
            return {"added": False, "message": f"Offer {code} only applies to {offer['category']}."}
    with support.lock, support.db:
        support.db.execute(
            "INSERT INTO cart_items (customer_id, sku, quantity, offer_code) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (customer_id, sku) DO UPDATE SET quantity = quantity + excluded.quantity,"
            " offer_code = COALESCE(excluded.offer_code, offer_code)",
            (support.customer_id, key, quantity, code),
        )
    return {"added": True, **_cart(support)}


def _cart(support: SupportContext) -> dict[str, Any]:
    with support.lock:
        rows = support.db.execute(
            "SELECT c.sku, c.quantity, p.name, p.price_cents, COALESCE(o.percent_off, 0) AS pct"
            " FROM cart_items c JOIN products p ON p.sku = c.sku"
            " LEFT JOIN offers o ON o.code = c.offer_code"
            " WHERE c.customer_id = ? ORDER BY c.sku",
            (support.customer_id,),
        ).fetchall()
    lines = []
    total = 0
    for r in rows:
        gross = r["price_cents"] * r["quantity"]
        net = gross - percent_of(gross, r["pct"])
        total += net
        lines.append({"sku": r["sku"], "name": r["name"], "quantity": r["quantity"], "price": _money(net)})
    return {"cart": lines, "total": _money(total)}
