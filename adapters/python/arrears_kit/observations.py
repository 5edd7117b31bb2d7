"""Builders for what an adapter reports: observations and trace events.

Each builder takes keyword arguments named as the fields of
docs/observations.md (``arrears schema observation`` prints their JSON
Schema), checks them, and returns the JSON object to put in an
``observation`` reply. A wrong value is a :class:`ValueError` raised in
the adapter, naming the builder and the field, instead of a reply arrears
refuses later. Instants are Unix seconds or aware datetimes
(:mod:`arrears_kit.instants`); money is an integer number of minor units.

Optional fields that the protocol reports as ``null`` (``overdue_since``,
``next_attempt``, an operation's ``rule``...) are always written; the two
fields that are left out when unknown (a resource's ``billing_method``, an
operation's ``error_code``) are written only when given.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from .instants import Instant, format_instant

JSON = Dict[str, Any]
"""A JSON object, as the kit builds and reads them."""

SERVING = ("yes", "no", "unspecified")
DATA = ("retained", "deleted", "unspecified")
BILLING = ("running", "ceased", "unspecified")
BILLING_METHODS = ("subscription", "pay-as-you-go", "hybrid", "not-billed")
BILL_STATUSES = ("pending", "overdue", "overdrawn", "paid")
ATTEMPT_CAUSES = ("scheduled", "pay-now", "top-up")
OUTCOMES = ("paid", "failed", "overdrawn")


def _name(builder: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{builder}: `{field}` must be a non-empty string (an id), not {value!r}")
    return value


def _optional_name(builder: str, field: str, value: object) -> Optional[str]:
    return None if value is None else _name(builder, field, value)


def _money(builder: str, field: str, value: object) -> int:
    # bool is an int in Python; True cents is a mistake, not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"{builder}: `{field}` must be an integer number of minor units, not {value!r}"
        )
    return value


def _count(builder: str, field: str, value: object) -> int:
    n = _money(builder, field, value)
    if n < 0:
        raise ValueError(f"{builder}: `{field}` must not be negative, not {value!r}")
    return n


def _flag(builder: str, field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{builder}: `{field}` must be true or false, not {value!r}")
    return value


def _choice(builder: str, field: str, value: object, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(
            f"{builder}: `{field}` must be one of {', '.join(allowed)}, not {value!r}"
        )
    return str(value)


def _instant(builder: str, field: str, value: Optional[Instant], optional: bool = False) -> Optional[str]:
    if value is None:
        if optional:
            return None
        raise ValueError(f"{builder}: `{field}` is required (an instant)")
    try:
        return format_instant(value)
    except ValueError as e:
        raise ValueError(f"{builder}: `{field}`: {e}") from None


def _objects(builder: str, field: str, values: Iterable[JSON]) -> List[JSON]:
    out = list(values)
    for v in out:
        if not isinstance(v, dict):
            raise ValueError(f"{builder}: `{field}` must hold objects (use the builders), not {v!r}")
    return out


# --- observations -------------------------------------------------------------------


def observation(*, at: Instant, accounts: Iterable[JSON], resources: Iterable[JSON]) -> JSON:
    """Everything observable at one instant: accounts in the history's order,
    resources in the order they came to exist."""
    return {
        "at": _instant("observation", "at", at),
        "accounts": _objects("observation", "accounts", accounts),
        "resources": _objects("observation", "resources", resources),
    }


def account(
    *,
    account: str,
    cash: int,
    vouchers: int = 0,
    available_credit: Optional[int] = None,
    overdue_since: Optional[Instant] = None,
    outstanding_bills: Iterable[JSON] = (),
    fee_operations: Iterable[JSON] = (),
) -> JSON:
    """An account observation. ``available_credit`` defaults to cash + vouchers;
    ``fee_operations`` is usually :meth:`arrears_kit.Offer.fee_operations`."""
    b = "account"
    cash = _money(b, "cash", cash)
    vouchers = _money(b, "vouchers", vouchers)
    return {
        "account": _name(b, "account", account),
        "cash": cash,
        "vouchers": vouchers,
        "available_credit": cash + vouchers
        if available_credit is None
        else _money(b, "available_credit", available_credit),
        "overdue_since": _instant(b, "overdue_since", overdue_since, optional=True),
        "outstanding_bills": _objects(b, "outstanding_bills", outstanding_bills),
        "fee_operations": _objects(b, "fee_operations", fee_operations),
    }


def bill(
    *,
    bill: str,
    resource: str,
    amount: int,
    settlement_date: Instant,
    status: str,
    attempts: int,
    next_attempt: Optional[Instant] = None,
) -> JSON:
    """An outstanding bill, named ``<resource>/<n>``."""
    b = "bill"
    return {
        "bill": _name(b, "bill", bill),
        "resource": _name(b, "resource", resource),
        "amount": _money(b, "amount", amount),
        "settlement_date": _instant(b, "settlement_date", settlement_date),
        "status": _choice(b, "status", status, BILL_STATUSES),
        "attempts": _count(b, "attempts", attempts),
        "next_attempt": _instant(b, "next_attempt", next_attempt, optional=True),
    }


def fee_operation(*, product: str, operation: str, allowed: bool) -> JSON:
    """Whether one fee-incurring operation of a product would be allowed now."""
    b = "fee_operation"
    return {
        "product": _name(b, "product", product),
        "operation": _name(b, "operation", operation),
        "allowed": _flag(b, "allowed", allowed),
    }


def resource(
    *,
    resource: str,
    account: str,
    product: str,
    lifecycle: str,
    state: str,
    since: Instant,
    serving: str,
    data: str,
    billing: str,
    purchased_at: Instant,
    operations: Mapping[str, bool],
    expires_at: Optional[Instant] = None,
    overdue_since: Optional[Instant] = None,
    oldest_overdue_bill: Optional[Instant] = None,
    billing_method: Optional[str] = None,
) -> JSON:
    """A resource observation. ``operations`` maps *every* operation of the
    product (as the hello offer lists them) to whether it would be allowed now."""
    b = "resource"
    if not isinstance(operations, Mapping):
        raise ValueError(f"{b}: `operations` must map operation ids to true/false, not {operations!r}")
    ops = {_name(b, "operations", op): _flag(b, f"operations.{op}", allowed)
           for op, allowed in operations.items()}
    out: JSON = {
        "resource": _name(b, "resource", resource),
        "account": _name(b, "account", account),
        "product": _name(b, "product", product),
        "lifecycle": _name(b, "lifecycle", lifecycle),
        "state": _name(b, "state", state),
        "since": _instant(b, "since", since),
        "serving": _choice(b, "serving", serving, SERVING),
        "data": _choice(b, "data", data, DATA),
        "billing": _choice(b, "billing", billing, BILLING),
    }
    if billing_method is not None:
        out["billing_method"] = _choice(b, "billing_method", billing_method, BILLING_METHODS)
    out.update({
        "overdue_since": _instant(b, "overdue_since", overdue_since, optional=True),
        "oldest_overdue_bill": _instant(b, "oldest_overdue_bill", oldest_overdue_bill, optional=True),
        "purchased_at": _instant(b, "purchased_at", purchased_at),
        "expires_at": _instant(b, "expires_at", expires_at, optional=True),
        "operations": dict(sorted(ops.items())),
    })
    return out


# --- trace events ---------------------------------------------------------------------


def charge(*, at: Instant, account: str, resource: str, amount: int,
           bill: Optional[str] = None) -> JSON:
    """A charge became a bill (``bill``), or recorded consumption (no bill)."""
    e = "charge"
    return {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
            "resource": _name(e, "resource", resource), "bill": _optional_name(e, "bill", bill),
            "amount": _money(e, "amount", amount)}


def charge_skipped(*, at: Instant, account: str, resource: str, amount: int, rule: str) -> JSON:
    """A charge not billed because the resource's billing has ceased."""
    e = "charge_skipped"
    return {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
            "resource": _name(e, "resource", resource), "amount": _money(e, "amount", amount),
            "rule": _name(e, "rule", rule)}


def deduction(*, at: Instant, account: str, resource: str, bill: str, amount: int,
              attempt: int, cause: str, outcome: str, rule: str) -> JSON:
    """A deduction attempt (``attempt`` counts from 1)."""
    e = "deduction"
    return {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
            "resource": _name(e, "resource", resource), "bill": _name(e, "bill", bill),
            "amount": _money(e, "amount", amount), "attempt": _count(e, "attempt", attempt),
            "cause": _choice(e, "cause", cause, ATTEMPT_CAUSES),
            "outcome": _choice(e, "outcome", outcome, OUTCOMES), "rule": _name(e, "rule", rule)}


def bill_settled(*, at: Instant, account: str, resource: str, bill: str) -> JSON:
    """An overdue bill stopped being overdue."""
    e = "bill_settled"
    return {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
            "resource": _name(e, "resource", resource), "bill": _name(e, "bill", bill)}


def top_up(*, at: Instant, account: str, amount: int) -> JSON:
    e = "top_up"
    return {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
            "amount": _money(e, "amount", amount)}


def voucher_granted(*, at: Instant, account: str, amount: int) -> JSON:
    e = "voucher_granted"
    return {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
            "amount": _money(e, "amount", amount)}


def payment(*, at: Instant, account: str, resource: str, operation: str, cash: int,
            vouchers: int) -> JSON:
    """Money taken for a purchase, renewal or upgrade."""
    e = "payment"
    return {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
            "resource": _name(e, "resource", resource),
            "operation": _name(e, "operation", operation), "cash": _money(e, "cash", cash),
            "vouchers": _money(e, "vouchers", vouchers)}


def transition(*, at: Instant, resource: str, lifecycle: str, from_state: str, to_state: str,
               transition: str, rule: str) -> JSON:
    """A lifecycle transition (``from_state``/``to_state`` are the wire's ``from``/``to``)."""
    e = "transition"
    return {"event": e, "at": _instant(e, "at", at), "resource": _name(e, "resource", resource),
            "lifecycle": _name(e, "lifecycle", lifecycle),
            "from": _name(e, "from_state", from_state), "to": _name(e, "to_state", to_state),
            "transition": _name(e, "transition", transition), "rule": _name(e, "rule", rule)}


def notification(*, at: Instant, account: str, notification: str, rule: str,
                 resource: Optional[str] = None) -> JSON:
    """A notification sent (``resource`` is None for an account-level one)."""
    e = "notification"
    return {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
            "resource": _optional_name(e, "resource", resource),
            "notification": _name(e, "notification", notification),
            "rule": _name(e, "rule", rule)}


def operation(*, at: Instant, account: str, resource: str, operation: str, allowed: bool,
              rule: Optional[str] = None, reason: Optional[str] = None,
              error_code: Optional[str] = None) -> JSON:
    """A user operation, allowed or refused (a refusal names its rule and reason)."""
    e = "operation"
    out: JSON = {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
                 "resource": _name(e, "resource", resource),
                 "operation": _name(e, "operation", operation),
                 "allowed": _flag(e, "allowed", allowed), "rule": _optional_name(e, "rule", rule),
                 "reason": _optional_name(e, "reason", reason)}
    if error_code is not None:
        out["error_code"] = _name(e, "error_code", error_code)
    return out


def refund(*, at: Instant, account: str, resource: str, amount: int, formula: str, rule: str,
           paid_cash: int, paid_voucher: int, used_seconds: int, term_seconds: int) -> JSON:
    """A refund, with the inputs of the formula that computed it."""
    e = "refund"
    return {"event": e, "at": _instant(e, "at", at), "account": _name(e, "account", account),
            "resource": _name(e, "resource", resource), "amount": _money(e, "amount", amount),
            "formula": _name(e, "formula", formula), "rule": _name(e, "rule", rule),
            "paid_cash": _money(e, "paid_cash", paid_cash),
            "paid_voucher": _money(e, "paid_voucher", paid_voucher),
            "used_seconds": _money(e, "used_seconds", used_seconds),
            "term_seconds": _money(e, "term_seconds", term_seconds)}
