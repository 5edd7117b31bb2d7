#!/usr/bin/env python3
"""MaxCompute behind the arrears adapter protocol: the example of arrears-kit.

Implements one product, MaxCompute (specs/maxcompute.yaml): subscription and
pay-as-you-go instances. The kit (``arrears_kit``, beside this file) reads the
requests, dispatches them to the handlers of :class:`MaxComputeAdapter`, writes
the replies and builds the observations and events; this file is only the
engine and its mapping. Try it with
``arrears verify --sut "python3 adapters/python/arrears_maxcompute.py"``.

One agenda holds the scheduled actions (deductions, timed transitions) ordered
by (instant, sequence number), so a long clock jump still runs everything at
its own instant and in the order it was planned, as the reference model does.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional, Set, Tuple

from arrears_kit import (DAY, Adapter, Observed, Refused, Unsupported, observations as obs,
                         offset_seconds, run, term_end)
from arrears_kit.observations import JSON

PRODUCT = "maxcompute"

# --- the spec, as data -----------------------------------------------------------
BILLING_RULE = "maxcompute.payg.overdue-when-unpaid-at-due"
OVERDUE_NOTICE = ("maxcompute.notify.overdue", "maxcompute.payg.reminder-by-default")
CREDIT_ALERT = ("ecs.notify.credit-alert", "ecs.prevent.credit-alert")  # account-level, ECS's
OPERATIONS = ["release", "renew", "run-task"]   # sorted; renew is the fee-incurring one
LOCK = 15 * DAY                                  # expiry-lock-period and unpaid-lock-after
RELEASE_RULE, CLEAR_RULE = "maxcompute.sub.data-unrecoverable", "maxcompute.overdue.clear-to-avoid-release"


@dataclass(frozen=True)
class State:
    serving: str
    data: str
    billing: str
    terminal: bool = False
    denied: Dict[str, str] = field(default_factory=dict)  # operation -> the rule that denies it


@dataclass(frozen=True)
class Transition:
    """A trigger is ("after", seconds, anchor), ("signal", name) or ("op", operation)."""
    id: str
    sources: Tuple[str, ...]
    to: str
    trigger: Tuple[Any, ...]
    rule: str


LOCKED = State("no", "retained", "unspecified", denied={"run-task": "maxcompute.locked.access-denied"})
RELEASED = State("no", "deleted", "ceased", terminal=True)
# What a refused task answers with, by the rule that refuses it: "ODPS-0420095:
# Access Denied - Authorization Failed [4093] ... Access Mode is AllDenied".
ERROR_CODES = {"maxcompute.locked.access-denied": "ODPS-0420095"}
# billing method: (lifecycle id, states, transitions in declaration order).
LIFECYCLES: Dict[str, Tuple[str, Dict[str, State], List[Transition]]] = {
    "subscription": ("maxcompute.subscription-instance", {
        "active": State("yes", "retained", "unspecified"), "locked": LOCKED,
        "released": RELEASED}, [
        Transition("locked-at-expiry", ("active",), "locked", ("after", 0, "expiry"),
                   "maxcompute.sub.locked-at-expiry"),
        Transition("renewed-while-locked", ("locked",), "active", ("op", "renew"),
                   "maxcompute.sub.released-after-15-days"),
        Transition("released-after-15-days", ("locked",), "released", ("after", LOCK, "expiry"),
                   "maxcompute.sub.released-after-15-days"),
        Transition("user-release", ("active", "locked"), "released", ("op", "release"),
                   RELEASE_RULE)]),
    "pay-as-you-go": ("maxcompute.payg-instance", {
        "active": State("yes", "retained", "running"),
        "overdue": State("yes", "retained", "running"), "locked": LOCKED,
        "released": RELEASED}, [
        Transition("becomes-overdue", ("active",), "overdue", ("signal", "overdue"), BILLING_RULE),
        Transition("settled", ("overdue",), "active", ("signal", "settled"), CLEAR_RULE),
        Transition("locked-after-15-days", ("overdue",), "locked",
                   ("after", LOCK, "oldest-overdue-bill"), "maxcompute.payg.locked-after-15-days"),
        Transition("unlocked-after-settlement", ("locked",), "active", ("signal", "settled"),
                   CLEAR_RULE),
        Transition("user-release", ("active", "overdue", "locked"), "released", ("op", "release"),
                   RELEASE_RULE)]),
}
EVENTS = {"charge", "top_up", "grant_voucher", "pay_now", "purchase", "renew", "operate"}


def seconds(text: str) -> int:
    try:
        return offset_seconds(text)
    except ValueError as e:
        raise Refused(str(e)) from None


def term_from(start: int, term: str) -> int:
    try:
        return term_end(start, term)
    except ValueError as e:
        raise Refused(str(e)) from None


def check_supported(d: JSON) -> None:
    if d.get("product") != PRODUCT or d.get("kind") != "instance" or d.get("parent") \
            or d.get("billing") not in LIFECYCLES:
        raise Unsupported(f"only MaxCompute subscription and pay-as-you-go instances are "
                          f"implemented, not {d.get('product')} {d.get('kind')} ({d.get('billing')})")


@dataclass(eq=False)
class Account:
    id: str
    cash: int
    vouchers: int
    threshold: Optional[int]
    below: bool = False
    overdue_since: Optional[int] = None
    overdue_bills: int = 0
    resources: List["Resource"] = field(default_factory=list)
    bills: List["Bill"] = field(default_factory=list)


@dataclass(eq=False)
class Resource:
    id: str
    index: int
    account: Account
    billing: str
    since: int
    purchased_at: int
    expires_at: Optional[int]
    hourly_price: Optional[int]
    state: str = "active"
    entered_rule: Optional[str] = None
    overdue_since: Optional[int] = None
    overdue_bills: int = 0
    bills: List["Bill"] = field(default_factory=list)
    timer_generation: int = 0


@dataclass(eq=False)
class Bill:
    id: str
    account: Account
    resource: Resource
    amount: int
    settlement: int
    attempts: int = 0
    status: str = "pending"
    next_attempt: Optional[int] = None


# An agenda entry's action: ("deduction", bill, attempt) or ("timer", resource, generation).
Action = Tuple[str, Any, int]


class Engine:
    """The ledger and the two MaxCompute lifecycles, driven step by step."""

    def __init__(self, start: int, accounts: List[JSON], resources: List[JSON]) -> None:
        self.start = self.now = start
        self.accounts: Dict[str, Account] = {}
        self.resources: Dict[str, Resource] = {}
        self.created: List[Resource] = []               # resources in creation order
        self.agenda: List[Tuple[int, int, Action]] = []
        self.seq = 0
        self.log: List[JSON] = []
        self.stimuli: Deque[Tuple[Resource, str]] = deque()
        self.dirty: Set[int] = set()
        for a in accounts:
            if a["id"] in self.accounts:
                raise Refused(f"account `{a['id']}` is listed twice")
            self.accounts[a["id"]] = Account(id=a["id"], cash=a.get("cash", 0),
                                             vouchers=a.get("vouchers", 0),
                                             threshold=a.get("credit_alert"))
        for d in resources:
            self.create(self.account(d.get("account", "")), d,
                        self.start + seconds(d.get("purchased_at") or "0s"))
        for acc in self.accounts.values():
            self.check_credit_alert(acc)
        self.settle_instant()

    # --- resources and their lifecycles ------------------------------------------
    def account(self, name: str) -> Account:
        if name not in self.accounts:
            raise Refused(f"unknown account `{name}`")
        return self.accounts[name]

    def resource(self, name: str) -> Resource:
        if name not in self.resources:
            raise Refused(f"unknown resource `{name}`")
        return self.resources[name]

    def create(self, acc: Account, d: JSON, purchased: int) -> Resource:
        check_supported(d)
        if d["id"] in self.resources:
            raise Refused(f"resource `{d['id']}` already exists")
        res = Resource(id=d["id"], index=len(self.resources), account=acc, billing=d["billing"],
                       since=self.now, purchased_at=purchased,
                       expires_at=term_from(purchased, d["term"]) if d.get("term") else None,
                       hourly_price=d.get("hourly_price"))
        self.resources[res.id] = res
        self.created.append(res)
        acc.resources.append(res)
        self.dirty.add(res.index)
        return res

    def state(self, res: Resource) -> State:
        return LIFECYCLES[res.billing][1][res.state]

    def transitions(self, res: Resource) -> List[Tuple[int, Transition]]:
        return [(i, t) for i, t in enumerate(LIFECYCLES[res.billing][2]) if res.state in t.sources]

    def oldest_overdue_bill(self, res: Resource) -> Optional[int]:
        return min((b.settlement for b in res.bills if b.status == "overdue"), default=None)

    def timed(self, res: Resource) -> List[Tuple[int, int]]:
        """(due, index) of each timed transition out of the current state."""
        out = []
        for i, t in self.transitions(res):
            if t.trigger[0] != "after":
                continue
            anchor = res.expires_at if t.trigger[2] == "expiry" else self.oldest_overdue_bill(res)
            if anchor is not None:
                out.append((anchor + t.trigger[1], i))
        return out

    def fire(self, res: Resource, i: int) -> None:
        t = LIFECYCLES[res.billing][2][i]
        self.log.append(obs.transition(at=self.now, resource=res.id,
                                       lifecycle=LIFECYCLES[res.billing][0], from_state=res.state,
                                       to_state=t.to, transition=t.id, rule=t.rule))
        res.state, res.since, res.entered_rule = t.to, self.now, t.rule
        self.dirty.add(res.index)

    # --- the clock -----------------------------------------------------------------
    def schedule(self, due: int, action: Action) -> None:
        self.seq += 1
        heapq.heappush(self.agenda, (due, self.seq, action))

    def run_agenda(self, until: int, inclusive: bool) -> None:
        while self.agenda and (self.agenda[0][0] < until or inclusive and self.agenda[0][0] == until):
            due, _, (kind, what, n) = heapq.heappop(self.agenda)
            self.now = max(self.now, due)
            if kind == "deduction":
                self.scheduled_deduction(what, n)
            else:
                self.timer(what, n)
            self.settle_instant()

    def advance(self, to: int) -> None:
        self.run_agenda(to, True)
        self.now = max(self.now, to)

    def settle_instant(self) -> None:
        """Delivers the signals the last step raised, then re-plans the timers."""
        while True:
            while self.stimuli:
                res, signal = self.stimuli.popleft()
                if not self.state(res).terminal:
                    fired = [i for i, t in self.transitions(res) if t.trigger == ("signal", signal)]
                    if fired:
                        self.fire(res, fired[0])
            dirty, self.dirty = sorted(self.dirty), set()
            for index in dirty:
                self.plan_timer(self.created[index])
            if not self.stimuli:
                return

    def plan_timer(self, res: Resource) -> None:
        res.timer_generation += 1
        if not self.state(res).terminal and self.timed(res):
            due = min(self.timed(res))[0]
            self.schedule(max(due, self.now), ("timer", res, res.timer_generation))

    def timer(self, res: Resource, generation: int) -> None:
        if res.timer_generation != generation or self.state(res).terminal:
            return
        due = [(d, i) for d, i in self.timed(res) if d <= self.now]
        if due:
            self.fire(res, min(due)[1])   # the earliest; the first declared on a tie
        else:
            self.dirty.add(res.index)

    # --- the ledger ------------------------------------------------------------------
    def take(self, acc: Account, amount: int) -> Tuple[int, int]:
        """Vouchers before cash; returns the (cash, vouchers) split."""
        vouchers = min(acc.vouchers, amount)
        acc.vouchers -= vouchers
        acc.cash -= amount - vouchers
        return amount - vouchers, vouchers

    def charge(self, res: Resource, amount: int) -> None:
        if self.state(res).terminal or self.state(res).billing == "ceased":
            self.log.append(obs.charge_skipped(at=self.now, account=res.account.id,
                                               resource=res.id, amount=amount,
                                               rule=res.entered_rule or RELEASE_RULE))
            return
        bill = Bill(id=f"{res.id}/{len(res.bills) + 1}", account=res.account, resource=res,
                    amount=amount, settlement=self.now, next_attempt=self.now)
        res.bills.append(bill)
        res.account.bills.append(bill)
        self.log.append(obs.charge(at=self.now, account=res.account.id, resource=res.id,
                                   bill=bill.id, amount=amount))
        self.schedule(self.now, ("deduction", bill, 1))   # the only attempt, at its due date T

    def scheduled_deduction(self, bill: Bill, attempt: int) -> None:
        if bill.status == "paid" or bill.attempts + 1 != attempt:
            return
        self.attempt(bill, "scheduled")
        bill.next_attempt = None                        # no retry: maxcompute.interp.no-retries
        self.after_ledger_change(bill.account)

    def attempt(self, bill: Bill, cause: str) -> None:
        bill.attempts += 1
        paid = self.available(bill.account) >= bill.amount
        became_overdue = not paid and bill.status == "pending"
        if paid:
            self.take(bill.account, bill.amount)
            bill.next_attempt = None
        elif became_overdue:
            self.mark(bill, "overdue")
        self.log.append(obs.deduction(at=self.now, account=bill.account.id,
                                      resource=bill.resource.id, bill=bill.id, amount=bill.amount,
                                      attempt=bill.attempts, cause=cause,
                                      outcome="paid" if paid else "failed", rule=BILLING_RULE))
        if paid:
            self.mark(bill, "paid")
        if became_overdue:
            self.notify(bill.account, bill.resource.id, OVERDUE_NOTICE)

    def mark(self, bill: Bill, status: str) -> None:
        was, bill.status = bill.status == "overdue", status
        step = (status == "overdue") - was
        bill.account.overdue_bills += step
        bill.resource.overdue_bills += step
        if step < 0:
            self.log.append(obs.bill_settled(at=self.now, account=bill.account.id,
                                             resource=bill.resource.id, bill=bill.id))

    def available(self, acc: Account) -> int:
        return acc.cash + acc.vouchers

    def settle(self, acc: Account, cause: str) -> None:
        """Pays overdue bills, oldest first, each whole, until one does not fit."""
        for bill in sorted((b for b in acc.bills if b.status == "overdue"),
                           key=lambda b: b.settlement):     # stable: then in billing order
            if self.available(acc) < bill.amount:
                break
            self.attempt(bill, cause)

    def notify(self, acc: Account, resource: Optional[str], notice: Tuple[str, str]) -> None:
        self.log.append(obs.notification(at=self.now, account=acc.id, resource=resource,
                                         notification=notice[0], rule=notice[1]))

    def check_credit_alert(self, acc: Account) -> None:
        if acc.threshold is not None:
            below = self.available(acc) < acc.threshold
            if below and not acc.below:
                self.notify(acc, None, CREDIT_ALERT)
            acc.below = below

    def after_ledger_change(self, acc: Account) -> None:
        """Recomputes who is overdue and signals each resource whose status changed."""
        self.check_credit_alert(acc)
        for res in acc.resources:
            if res.overdue_bills and res.overdue_since is None:
                res.overdue_since = self.now
                self.stimuli.append((res, "overdue"))
            elif not res.overdue_bills and res.overdue_since is not None:
                res.overdue_since = None
                self.stimuli.append((res, "settled"))
            self.dirty.add(res.index)
        if not acc.overdue_bills:
            acc.overdue_since = None
        elif acc.overdue_since is None:
            acc.overdue_since = self.now

    # --- operations ------------------------------------------------------------------
    def decide(self, res: Resource, op: str) -> Tuple[bool, Optional[str], Optional[str], Optional[int]]:
        """(allowed, rule, reason, transition) for `op` on `res` now."""
        state = self.state(res)
        if state.terminal:
            return False, res.entered_rule, f"the resource is {res.state}", None
        if op in state.denied:
            return False, state.denied[op], f"not allowed while {res.state}", None
        triggered = [i for i, t in self.transitions(res) if t.trigger == ("op", op)]
        return True, None, None, triggered[0] if triggered else None

    def operate(self, res: Resource, op: str, price: Optional[int] = None,
                term: Optional[str] = None) -> None:
        if op not in OPERATIONS:
            raise Unsupported(f"MaxCompute has no operation `{op}`")
        allowed, rule, reason, transition = self.decide(res, op)
        if allowed and price is not None and self.available(res.account) < price:
            allowed, rule, reason = False, None, "insufficient available credit"
        self.log.append(obs.operation(
            at=self.now, account=res.account.id, resource=res.id, operation=op, allowed=allowed,
            rule=rule, reason=reason,
            error_code=None if allowed or rule is None else ERROR_CODES.get(rule)))
        if allowed and price is not None:               # a renewal: pay, then extend
            cash, vouchers = self.take(res.account, price)
            self.log.append(obs.payment(at=self.now, account=res.account.id, resource=res.id,
                                        operation=op, cash=cash, vouchers=vouchers))
            if res.expires_at is not None and term:     # from the old expiry
                res.expires_at = term_from(res.expires_at, term)
            self.dirty.add(res.index)
            self.after_ledger_change(res.account)
        # A renewal too short to reach the present leaves the instance
        # expired (and locked), its release counted from the new expiry.
        still_expired = term and res.expires_at is not None and res.expires_at <= self.now
        if allowed and transition is not None and not still_expired:
            self.fire(res, transition)

    def purchase(self, acc: Account, d: JSON, price: int) -> None:
        allowed = self.available(acc) >= price
        self.log.append(obs.operation(at=self.now, account=acc.id, resource=d["id"],
                                      operation="purchase", allowed=allowed, rule=None,
                                      reason=None if allowed else "insufficient available credit"))
        if allowed:
            cash, vouchers = self.take(acc, price)
            self.create(acc, d, self.now)
            self.log.append(obs.payment(at=self.now, account=acc.id, resource=d["id"],
                                        operation="purchase", cash=cash, vouchers=vouchers))
            self.after_ledger_change(acc)

    # --- the protocol's verbs ----------------------------------------------------------
    def apply(self, kind: str, e: JSON) -> None:
        if kind not in EVENTS:
            raise Unsupported(f"MaxCompute has no `{kind}` event")
        try:
            at = self.start + seconds(e["at"])
            if at < self.now:
                raise Refused("events must come in time order")
            if kind == "purchase":
                check_supported(e["resource"])          # before anything moves
            self.run_agenda(at, False)                  # events first at one instant
            self.now = max(self.now, at)
            self.apply_now(kind, e)
        except Refused as err:                          # name the event, as the model does
            raise Refused(f"{kind} at {e.get('at')}: {err}") from None
        self.settle_instant()

    def apply_now(self, kind: str, e: JSON) -> None:
        if kind == "charge":
            res = self.resource(e["resource"])
            if e.get("amount") is None and (e.get("hours") is None or res.hourly_price is None):
                raise Refused("give `amount`, or `hours` with an hourly_price")
            self.charge(res, e["amount"] if e.get("amount") is not None
                        else res.hourly_price * e["hours"])
        elif kind in ("top_up", "grant_voucher"):
            acc = self.account(e["account"])
            if kind == "top_up":
                acc.cash += e["amount"]
                self.log.append(obs.top_up(at=self.now, account=acc.id, amount=e["amount"]))
                self.settle(acc, "top-up")
            else:
                acc.vouchers += e["amount"]
                self.log.append(obs.voucher_granted(at=self.now, account=acc.id,
                                                    amount=e["amount"]))
            self.after_ledger_change(acc)
        elif kind == "pay_now":
            acc = self.account(e["account"])
            self.settle(acc, "pay-now")
            self.after_ledger_change(acc)
        elif kind == "purchase":
            self.purchase(self.account(e["account"]), e["resource"], e.get("price", 0))
        elif kind == "renew":
            self.operate(self.resource(e["resource"]), "renew", e["price"], e["term"])
        else:
            self.operate(self.resource(e["resource"]), e["operation"])

    def observe(self, fee_operations: Dict[bool, List[JSON]]) -> Observed:
        accounts = [obs.account(
            account=acc.id, cash=acc.cash, vouchers=acc.vouchers,
            overdue_since=acc.overdue_since,
            outstanding_bills=[obs.bill(
                bill=b.id, resource=b.resource.id, amount=b.amount,
                settlement_date=b.settlement, status=b.status, attempts=b.attempts,
                next_attempt=b.next_attempt)
                for b in sorted((b for b in acc.bills if b.status != "paid"),
                                key=lambda b: (b.settlement, b.id))],
            fee_operations=fee_operations[acc.overdue_since is not None])
            for acc in self.accounts.values()]
        resources = [obs.resource(
            resource=res.id, account=res.account.id, product=PRODUCT,
            lifecycle=LIFECYCLES[res.billing][0], state=res.state, since=res.since,
            serving=self.state(res).serving, data=self.state(res).data,
            billing=self.state(res).billing,
            billing_method=res.billing,             # a MaxCompute instance keeps its own
            overdue_since=res.overdue_since,
            oldest_overdue_bill=self.oldest_overdue_bill(res),
            purchased_at=res.purchased_at, expires_at=res.expires_at,
            operations={op: self.decide(res, op)[0] for op in OPERATIONS})
            for res in self.resources.values()]
        events, self.log = self.log, []
        return obs.observation(at=self.now, accounts=accounts, resources=resources), events


class MaxComputeAdapter(Adapter):
    """The mapping of the protocol's requests to the engine."""

    implementation = "arrears-maxcompute python adapter 0.2.0"
    implements = {PRODUCT: ["subscription", "pay-as-you-go"]}

    def __init__(self) -> None:
        super().__init__()
        self.engine: Optional[Engine] = None

    def load(self, start: int, accounts: List[JSON], resources: List[JSON]) -> None:
        self.engine = None
        self.engine = Engine(start, accounts, resources)

    def apply(self, at: int, kind: str, event: JSON) -> None:
        self.loaded().apply(kind, event)

    def advance(self, to: int) -> None:
        self.loaded().advance(to)

    def observe(self) -> Observed:
        # fee_operations as the offer has them: MaxCompute's renew stays allowed
        # while the account is overdue, since its document does not refuse it.
        fees = {overdue: self.offer.fee_operations(overdue) for overdue in (False, True)}
        return self.loaded().observe(fees)

    def loaded(self) -> Engine:
        if self.engine is None:
            raise Refused("no history is loaded")
        return self.engine


def main() -> int:
    return run(lambda args: MaxComputeAdapter(), version="0.2.0")


if __name__ == "__main__":
    raise SystemExit(main())
