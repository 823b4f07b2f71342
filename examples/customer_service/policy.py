"""The shop's return policy, as a pure function of the purchase, the item's condition and today.

Kept apart from the database and the tools so every rule is a one-line test, and so the
agent's promises ("you have until the 14th") come from the same code that accepts the return.

The rules, in the order they are checked:

1. Only delivered orders can be returned (in-transit orders are refused at the door instead).
2. At most the quantity bought minus what was already returned.
3. Gift cards are never returnable.
4. Items that arrived damaged or are defective: full refund within 90 days of delivery, even
   final-sale items.
5. Otherwise final-sale items are not returnable.
6. The return window runs from delivery: 15 days for electronics, 30 for everything else;
   gold members get 15 more days.
7. Used items are not returnable; opened personal-care items neither (hygiene).
8. Opened electronics carry a 15% restocking fee; everything else is refunded in full.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

__all__ = ["Category", "Condition", "Eligibility", "Purchase", "ReturnPolicy", "Tier", "percent_of"]

Category = Literal["electronics", "apparel", "home", "personal_care", "gift_card"]
Condition = Literal["unopened", "opened", "used", "arrived_damaged", "defective"]
Tier = Literal["standard", "gold"]

_FAULTS: frozenset[str] = frozenset({"arrived_damaged", "defective"})


def percent_of(cents: int, percent: int) -> int:
    """`percent`% of `cents`, rounded half up to a whole cent (integer math, no float drift)."""
    return (cents * percent + 50) // 100


@dataclass(frozen=True)
class Purchase:
    """One line of an order, as far as the policy cares."""

    category: Category
    unit_price_cents: int
    quantity: int
    returned_quantity: int
    delivered_on: date | None
    final_sale: bool = False

    @property
    def returnable_quantity(self) -> int:
        """How many of this line have not been returned yet."""
        return self.quantity - self.returned_quantity


@dataclass(frozen=True)
class Eligibility:
    """The verdict, with what the agent should tell the caller.

    Attributes:
        eligible: Whether the return may be started.
        reason: One sentence the agent can say as is.
        refund_cents: What the caller gets back (0 when not eligible).
        restocking_fee_cents: Kept back from the refund.
        return_by: The last day the return may be started, when a window applies.
    """

    eligible: bool
    reason: str
    refund_cents: int = 0
    restocking_fee_cents: int = 0
    return_by: date | None = None


@dataclass(frozen=True)
class ReturnPolicy:
    """The policy's numbers; the defaults are the shop's published policy."""

    window_days: Mapping[str, int] = field(
        default_factory=lambda: {"electronics": 15, "apparel": 30, "home": 30, "personal_care": 30}
    )
    gold_extension_days: int = 15
    fault_window_days: int = 90
    restocking_fee_percent: Mapping[str, int] = field(default_factory=lambda: {"electronics": 15})
    sealed_only: frozenset[str] = frozenset({"personal_care"})
    never_returnable: frozenset[str] = frozenset({"gift_card"})

    def evaluate(
        self,
        purchase: Purchase,
        *,
        condition: Condition,
        quantity: int,
        tier: Tier,
        today: date,
    ) -> Eligibility:
        """Whether `quantity` items of `purchase` in `condition` may be returned `today`."""
        if purchase.delivered_on is None:
            return Eligibility(False, "The order has not been delivered yet; it can be refused at the door.")
        if quantity < 1:
            return Eligibility(False, "The quantity to return must be at least one.")
        if quantity > purchase.returnable_quantity:
            left = purchase.returnable_quantity
            return Eligibility(
                False,
                f"Only {left} of this item can still be returned." if left else "This item was already returned.",
            )
        if purchase.category in self.never_returnable:
            return Eligibility(False, "Gift cards cannot be returned.")
        gross = purchase.unit_price_cents * quantity
        days = (today - purchase.delivered_on).days

        if condition in _FAULTS:
            last_day = purchase.delivered_on + timedelta(days=self.fault_window_days)
            if today > last_day:
                return Eligibility(
                    False,
                    f"Damage and defects are covered for {self.fault_window_days} days after "
                    f"delivery, and this was delivered {days} days ago; the manufacturer's "
                    "warranty applies now.",
                    return_by=last_day,
                )
            return Eligibility(
                True, "Damaged or defective items are refunded in full.", gross, 0, last_day
            )
        if purchase.final_sale:
            return Eligibility(
                False, "Final-sale items can only be returned if they arrived damaged or are defective."
            )

        window = self.window_days.get(purchase.category, 30)
        if tier == "gold":
            window += self.gold_extension_days
        last_day = purchase.delivered_on + timedelta(days=window)
        if today > last_day:
            return Eligibility(
                False,
                f"The {window}-day return window ended on {last_day:%B} {last_day.day}.",
                return_by=last_day,
            )
        if condition == "used":
            return Eligibility(
                False, "Used items can only be returned if they are defective.", return_by=last_day
            )
        if condition == "opened" and purchase.category in self.sealed_only:
            return Eligibility(
                False,
                "Opened personal-care items cannot be returned, for hygiene reasons.",
                return_by=last_day,
            )
        fee = 0
        if condition == "opened":
            fee = percent_of(gross, self.restocking_fee_percent.get(purchase.category, 0))
        reason = (
            f"Eligible, with a {self.restocking_fee_percent[purchase.category]}% restocking fee "
            "because the item was opened."
            if fee
            else "Eligible for a full refund."
        )
        return Eligibility(True, reason, gross - fee, fee, last_day)
