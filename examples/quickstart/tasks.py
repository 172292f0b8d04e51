"""The tasks of the quick-start demo: a small web shop's background jobs.

Each order goes through a typed pipeline (reserve stock, charge the card, e-mail a
receipt); the card gateway sometimes times out (the charge is retried) and sometimes
declines (the order fails for good). A reminder is scheduled a moment later, and a
periodic task reports sales.

The queue is an SQLite file (:class:`~huey.SqliteHuey`, the embedded default), so the
demo needs no server. ``HUEY_DEMO_DB`` names the file (``demo.py`` uses a temporary one).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from huey import SqliteHuey, Task, crontab

__all__ = (
    "CardDeclined",
    "GatewayTimeout",
    "Order",
    "Receipt",
    "Reservation",
    "charge_card",
    "huey",
    "record_metric",
    "reserve_stock",
    "sales_report",
    "send_receipt",
    "send_reminder",
    "validate_address",
)

huey = SqliteHuey("shop-demo", filename=os.environ.get("HUEY_DEMO_DB", "shop-demo.db"))
"""The demo's queue: tasks, schedule and results in one SQLite file."""

REMINDER_DELAY = 1.0
"""Seconds between an order and its reminder (short, so the demo ends quickly)."""


class GatewayTimeout(Exception):
    """The (simulated) card gateway did not answer: worth retrying."""


class CardDeclined(Exception):
    """The (simulated) card gateway refused the payment: retrying will not help."""


@dataclass(frozen=True, slots=True)
class Order:
    """An order placed in the shop.

    Attributes:
        id: the order number.
        email: where the receipt goes.
        items: how many items were ordered.
        unit_cents: the price of one item, in cents.
    """

    id: int
    email: str
    items: int
    unit_cents: int


@dataclass(frozen=True, slots=True)
class Reservation:
    """Stock reserved for an order.

    Attributes:
        order: the order.
        total_cents: what the customer will be charged.
    """

    order: Order
    total_cents: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """A successful charge.

    Attributes:
        order_id: the order number.
        amount: the amount charged, formatted with its currency.
        attempts: how many charge attempts it took.
    """

    order_id: int
    amount: str
    attempts: int


@huey.task()
def validate_address(order_id: int, country: str) -> bool:
    """Check the shipping address of an order (every tenth one is in a country we skip)."""
    return not (order_id % 10 == 9 and country != "NL")


@huey.task()
def reserve_stock(order: Order) -> Reservation:
    """Pipeline stage 1: reserve the items and price the order."""
    return Reservation(order=order, total_cents=order.items * order.unit_cents)


CHARGE_RETRIES = 2


@huey.task(retries=CHARGE_RETRIES, context=True)
def charge_card(
    reservation: Reservation, *, currency: str, task: Task[Receipt] | None = None
) -> Receipt:
    """Pipeline stage 2: charge the card, retrying when the gateway times out.

    Receives the :class:`Reservation` from ``reserve_stock`` and, because it is a
    context task, the running :class:`~huey.Task` (to count attempts).

    Raises:
        GatewayTimeout: on the first attempt for one order in seven (then retried).
        CardDeclined: for one order in fifty (fails for good after the retries).
    """
    assert task is not None  # huey always passes it to a context=True task
    attempt = CHARGE_RETRIES - task.retries + 1
    order_id = reservation.order.id
    if order_id % 50 == 49:
        raise CardDeclined(f"order {order_id}: card declined")
    if order_id % 7 == 3 and attempt == 1:
        raise GatewayTimeout(f"order {order_id}: gateway timed out")
    amount = f"{reservation.total_cents / 100:.2f} {currency}"
    return Receipt(order_id=order_id, amount=amount, attempts=attempt)


@huey.task()
def send_receipt(receipt: Receipt, *, email: str) -> str:
    """Pipeline stage 3: e-mail the receipt; returns the message sent."""
    return f"to {email}: order {receipt.order_id}, {receipt.amount} charged"


@huey.task()
def send_reminder(order_id: int, email: str) -> str:
    """Remind the customer to review the order (scheduled after the order)."""
    return f"to {email}: how was order {order_id}?"


@huey.task(priority=-1)
def record_metric(name: str, value: float) -> float:
    """Record a metric (low priority: runs after the backlog of other work)."""
    del name  # a real shop would send it to its metrics system
    return value


@huey.periodic_task(crontab(minute="*"))
def sales_report() -> None:
    """Every minute: summarise sales (the demo triggers one run at start)."""
    huey.put("sales-report", "all orders processed")
