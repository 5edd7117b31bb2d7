#!/usr/bin/env python3
"""MaxCompute behind the arrears adapter protocol (arrears-adapter/1).

Standard library only. Implements one product, MaxCompute
(specs/maxcompute.yaml): subscription and pay-as-you-go instances, reported in
the observation vocabulary (docs/observations.md). Try it with
`arrears verify --sut "python3 adapters/python/arrears_maxcompute.py"`.

One agenda holds the scheduled actions (deductions, timed transitions) ordered
by (instant, sequence number), so a long clock jump still runs everything at
its own instant and in the order it was planned, as the reference model does.
"""
import calendar
import heapq
import json
import re
import sys
from collections import deque
from datetime import datetime, timezone
from types import SimpleNamespace as Record

PROTOCOL, PRODUCT, DAY = "arrears-adapter/1", "maxcompute", 86400

# --- the spec, as data -----------------------------------------------------------
BILLING_RULE = "maxcompute.payg.overdue-when-unpaid-at-due"
OVERDUE_NOTICE = ("maxcompute.notify.overdue", "maxcompute.payg.reminder-by-default")
CREDIT_ALERT = ("ecs.notify.credit-alert", "ecs.prevent.credit-alert")  # account-level, ECS's
OPERATIONS = ["release", "renew", "run-task"]   # sorted; renew is the fee-incurring one
LOCK = 15 * DAY                                  # expiry-lock-period and unpaid-lock-after
RELEASE_RULE, CLEAR_RULE = "maxcompute.sub.data-unrecoverable", "maxcompute.overdue.clear-to-avoid-release"
# state: (serving, data, billing, terminal, {operation: the rule that denies it})
LOCKED = ("no", "retained", "unspecified", False, {"run-task": "maxcompute.locked.access-denied"})
# What a refused task answers with, by the rule that refuses it: "ODPS-0420095:
# Access Denied - Authorization Failed [4093] ... Access Mode is AllDenied".
ERROR_CODES = {"maxcompute.locked.access-denied": "ODPS-0420095"}
RELEASED = ("no", "deleted", "ceased", True, {})
# billing method: (lifecycle id, states, transitions in declaration order). A
# transition is (id, from, to, trigger, rule); a trigger is ("after", seconds,
# anchor), ("signal", name) or ("op", operation).
LIFECYCLES = {
    "subscription": ("maxcompute.subscription-instance", {
        "active": ("yes", "retained", "unspecified", False, {}), "locked": LOCKED,
        "released": RELEASED}, [
        ("locked-at-expiry", ["active"], "locked", ("after", 0, "expiry"),
         "maxcompute.sub.locked-at-expiry"),
        ("renewed-while-locked", ["locked"], "active", ("op", "renew"),
         "maxcompute.sub.released-after-15-days"),
        ("released-after-15-days", ["locked"], "released", ("after", LOCK, "expiry"),
         "maxcompute.sub.released-after-15-days"),
        ("user-release", ["active", "locked"], "released", ("op", "release"), RELEASE_RULE)]),
    "pay-as-you-go": ("maxcompute.payg-instance", {
        "active": ("yes", "retained", "running", False, {}),
        "overdue": ("yes", "retained", "running", False, {}), "locked": LOCKED,
        "released": RELEASED}, [
        ("becomes-overdue", ["active"], "overdue", ("signal", "overdue"), BILLING_RULE),
        ("settled", ["overdue"], "active", ("signal", "settled"), CLEAR_RULE),
        ("locked-after-15-days", ["overdue"], "locked", ("after", LOCK, "oldest-overdue-bill"),
         "maxcompute.payg.locked-after-15-days"),
        ("unlocked-after-settlement", ["locked"], "active", ("signal", "settled"), CLEAR_RULE),
        ("user-release", ["active", "overdue", "locked"], "released", ("op", "release"),
         RELEASE_RULE)]),
}
# Every account's fee_operations, as `arrears serve` reports them in catalog
# order: (product, its fee-incurring operations, refused while overdue). The
# hello offer names the products but not their operations, so this is fixed.
FEE_TABLE = [("ecs", ["purchase", "renew", "upgrade"], True), ("emr", ["purchase", "renew"], True),
             (PRODUCT, ["renew"], False), ("flink", ["purchase", "renew"], True)]
EVENTS = {"charge", "top_up", "grant_voucher", "pay_now", "purchase", "renew", "operate"}


class Unsupported(Exception):
    """Something this adapter does not implement: the history is skipped."""


class Refused(Exception):
    """A request that cannot be carried out: the history fails."""


def parse_instant(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def show(t):
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(text):
    """`+15d`, `-2d`, `1d12h`, `30s` -> seconds."""
    m = re.fullmatch(r"([+-]?)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text.strip())
    if not m or not any(m.groups()[1:]):
        raise Refused(f"invalid duration `{text}`")
    d, h, mi, s = (int(g or 0) for g in m.groups()[1:])
    return (-1 if m.group(1) == "-" else 1) * (d * DAY + h * 3600 + mi * 60 + s)


def term_end(start, text):
    """When a term starting at `start` (seconds) ends: a fixed length such as `30d`
    later, or `1mo`, `1y`, `1y6mo` calendar months later (the same day of the month,
    clamped to the last day of a shorter month)."""
    m = re.fullmatch(r"(?:(\d+)y)?(?:(\d+)mo)?", text.strip())
    if not (m and any(m.groups())):
        return start + seconds(text)
    months = int(m.group(1) or 0) * 12 + int(m.group(2) or 0)
    t = datetime.fromtimestamp(start, timezone.utc)
    years, month0 = divmod(t.month - 1 + months, 12)
    year, month = t.year + years, month0 + 1
    try:
        day = min(t.day, calendar.monthrange(year, month)[1])
        return int(t.replace(year=year, month=month, day=day).timestamp())
    except (ValueError, OverflowError):
        raise Refused(f"the term `{text}` ends past the calendar")


def check_supported(d):
    if d.get("product") != PRODUCT or d.get("kind") != "instance" or d.get("parent") \
            or d.get("billing") not in LIFECYCLES:
        raise Unsupported(f"only MaxCompute subscription and pay-as-you-go instances are "
                          f"implemented, not {d.get('product')} {d.get('kind')} ({d.get('billing')})")


class Engine:
    """The ledger and the two MaxCompute lifecycles, driven step by step."""

    def __init__(self, history, fee_table):
        self.start = self.now = parse_instant(history["start"])
        self.fee_table, self.accounts, self.resources = fee_table, {}, {}
        self.created = []                               # resources in creation order
        self.agenda, self.seq, self.log, self.stimuli, self.dirty = [], 0, [], deque(), set()
        for a in history["accounts"]:
            if a["id"] in self.accounts:
                raise Refused(f"account `{a['id']}` is listed twice")
            self.accounts[a["id"]] = Record(
                id=a["id"], cash=a.get("cash", 0), vouchers=a.get("vouchers", 0),
                threshold=a.get("credit_alert"), below=False, overdue_since=None,
                overdue_bills=0, resources=[], bills=[])
        for d in history.get("resources", []):
            self.create(self.account(d.get("account", "")), d,
                        self.start + seconds(d.get("purchased_at") or "0s"))
        for acc in self.accounts.values():
            self.check_credit_alert(acc)
        self.settle_instant()

    # --- resources and their lifecycles ------------------------------------------
    def account(self, name):
        if name not in self.accounts:
            raise Refused(f"unknown account `{name}`")
        return self.accounts[name]

    def resource(self, name):
        if name not in self.resources:
            raise Refused(f"unknown resource `{name}`")
        return self.resources[name]

    def create(self, acc, d, purchased):
        check_supported(d)
        if d["id"] in self.resources:
            raise Refused(f"resource `{d['id']}` already exists")
        res = Record(id=d["id"], index=len(self.resources), account=acc, billing=d["billing"],
                     state="active", since=self.now, entered_rule=None, purchased_at=purchased,
                     expires_at=term_end(purchased, d["term"]) if d.get("term") else None,
                     hourly_price=d.get("hourly_price"), overdue_since=None, overdue_bills=0,
                     bills=[], timer_generation=0)
        self.resources[res.id] = res
        self.created.append(res)
        acc.resources.append(res)
        self.dirty.add(res.index)
        return res

    def state(self, res):
        return LIFECYCLES[res.billing][1][res.state]

    def transitions(self, res):
        return [(i, t) for i, t in enumerate(LIFECYCLES[res.billing][2]) if res.state in t[1]]

    def oldest_overdue_bill(self, res):
        return min((b.settlement for b in res.bills if b.status == "overdue"), default=None)

    def timed(self, res):
        """(due, index) of each timed transition out of the current state."""
        out = []
        for i, (_, _, _, trigger, _) in self.transitions(res):
            if trigger[0] != "after":
                continue
            anchor = res.expires_at if trigger[2] == "expiry" else self.oldest_overdue_bill(res)
            if anchor is not None:
                out.append((anchor + trigger[1], i))
        return out

    def fire(self, res, i):
        tid, _, to, _, rule = LIFECYCLES[res.billing][2][i]
        self.emit("transition", resource=res.id, lifecycle=LIFECYCLES[res.billing][0],
                  **{"from": res.state}, to=to, transition=tid, rule=rule)
        res.state, res.since, res.entered_rule = to, self.now, rule
        self.dirty.add(res.index)

    # --- the clock -----------------------------------------------------------------
    def emit(self, event, **fields):
        self.log.append(dict(event=event, at=show(self.now), **fields))

    def schedule(self, due, *action):
        self.seq += 1
        heapq.heappush(self.agenda, (due, self.seq, action))

    def run_agenda(self, until, inclusive):
        while self.agenda and (self.agenda[0][0] < until or inclusive and self.agenda[0][0] == until):
            due, _, (kind, what, n) = heapq.heappop(self.agenda)
            self.now = max(self.now, due)
            if kind == "deduction":
                self.scheduled_deduction(what, n)
            else:
                self.timer(what, n)
            self.settle_instant()

    def advance(self, to):
        self.run_agenda(to, True)
        self.now = max(self.now, to)

    def settle_instant(self):
        """Delivers the signals the last step raised, then re-plans the timers."""
        while True:
            while self.stimuli:
                res, signal = self.stimuli.popleft()
                if not self.state(res)[3]:
                    fired = [i for i, t in self.transitions(res) if t[3] == ("signal", signal)]
                    if fired:
                        self.fire(res, fired[0])
            dirty, self.dirty = sorted(self.dirty), set()
            for index in dirty:
                self.plan_timer(self.created[index])
            if not self.stimuli:
                return

    def plan_timer(self, res):
        res.timer_generation += 1
        if not self.state(res)[3] and self.timed(res):
            due = min(self.timed(res))[0]
            self.schedule(max(due, self.now), "timer", res, res.timer_generation)

    def timer(self, res, generation):
        if res.timer_generation != generation or self.state(res)[3]:
            return
        due = [(d, i) for d, i in self.timed(res) if d <= self.now]
        if due:
            self.fire(res, min(due)[1])   # the earliest; the first declared on a tie
        else:
            self.dirty.add(res.index)

    # --- the ledger ------------------------------------------------------------------
    def take(self, acc, amount):
        """Vouchers before cash; returns the (cash, vouchers) split."""
        vouchers = min(acc.vouchers, amount)
        acc.vouchers -= vouchers
        acc.cash -= amount - vouchers
        return amount - vouchers, vouchers

    def charge(self, res, amount):
        if self.state(res)[3] or self.state(res)[2] == "ceased":
            return self.emit("charge_skipped", account=res.account.id, resource=res.id,
                             amount=amount, rule=res.entered_rule)
        bill = Record(id=f"{res.id}/{len(res.bills) + 1}", account=res.account, resource=res,
                      amount=amount, settlement=self.now, attempts=0, status="pending",
                      next_attempt=self.now)
        res.bills.append(bill)
        res.account.bills.append(bill)
        self.emit("charge", account=res.account.id, resource=res.id, bill=bill.id, amount=amount)
        self.schedule(self.now, "deduction", bill, 1)   # the only attempt, at its due date T

    def scheduled_deduction(self, bill, attempt):
        if bill.status == "paid" or bill.attempts + 1 != attempt:
            return
        self.attempt(bill, "scheduled")
        bill.next_attempt = None                        # no retry: maxcompute.interp.no-retries
        self.after_ledger_change(bill.account)

    def attempt(self, bill, cause):
        bill.attempts += 1
        paid = self.available(bill.account) >= bill.amount
        became_overdue = not paid and bill.status == "pending"
        if paid:
            self.take(bill.account, bill.amount)
            bill.next_attempt = None
        elif became_overdue:
            self.mark(bill, "overdue")
        self.emit("deduction", account=bill.account.id, resource=bill.resource.id, bill=bill.id,
                  amount=bill.amount, attempt=bill.attempts, cause=cause,
                  outcome="paid" if paid else "failed", rule=BILLING_RULE)
        if paid:
            self.mark(bill, "paid")
        if became_overdue:
            self.notify(bill.account, bill.resource.id, OVERDUE_NOTICE)

    def mark(self, bill, status):
        was, bill.status = bill.status == "overdue", status
        step = (status == "overdue") - was
        bill.account.overdue_bills += step
        bill.resource.overdue_bills += step
        if step < 0:
            self.emit("bill_settled", account=bill.account.id, resource=bill.resource.id,
                      bill=bill.id)

    def available(self, acc):
        return acc.cash + acc.vouchers

    def settle(self, acc, cause):
        """Pays overdue bills, oldest first, each whole, until one does not fit."""
        for bill in sorted((b for b in acc.bills if b.status == "overdue"),
                           key=lambda b: b.settlement):     # stable: then in billing order
            if self.available(acc) < bill.amount:
                break
            self.attempt(bill, cause)

    def notify(self, acc, resource, notice):
        self.emit("notification", account=acc.id, resource=resource, notification=notice[0],
                  rule=notice[1])

    def check_credit_alert(self, acc):
        if acc.threshold is not None:
            below = self.available(acc) < acc.threshold
            if below and not acc.below:
                self.notify(acc, None, CREDIT_ALERT)
            acc.below = below

    def after_ledger_change(self, acc):
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
    def decide(self, res, op):
        """(allowed, rule, reason, transition) for `op` on `res` now."""
        terminal, denied = self.state(res)[3:]
        if terminal:
            return False, res.entered_rule, f"the resource is {res.state}", None
        if op in denied:
            return False, denied[op], f"not allowed while {res.state}", None
        triggered = [i for i, t in self.transitions(res) if t[3] == ("op", op)]
        return True, None, None, triggered[0] if triggered else None

    def operate(self, res, op, price=None, term=None):
        if op not in OPERATIONS:
            raise Unsupported(f"MaxCompute has no operation `{op}`")
        allowed, rule, reason, transition = self.decide(res, op)
        if allowed and price is not None and self.available(res.account) < price:
            allowed, rule, reason = False, None, "insufficient available credit"
        extra = {} if allowed or rule not in ERROR_CODES else {"error_code": ERROR_CODES[rule]}
        self.emit("operation", account=res.account.id, resource=res.id, operation=op,
                  allowed=allowed, rule=rule, reason=reason, **extra)
        if allowed and price is not None:               # a renewal: pay, then extend
            cash, vouchers = self.take(res.account, price)
            self.emit("payment", account=res.account.id, resource=res.id, operation=op,
                      cash=cash, vouchers=vouchers)
            if res.expires_at is not None and term:     # from the old expiry
                res.expires_at = term_end(res.expires_at, term)
            self.dirty.add(res.index)
            self.after_ledger_change(res.account)
        # A renewal too short to reach the present leaves the instance
        # expired (and locked), its release counted from the new expiry.
        still_expired = term and res.expires_at is not None and res.expires_at <= self.now
        if allowed and transition is not None and not still_expired:
            self.fire(res, transition)

    def purchase(self, acc, d, price):
        allowed = self.available(acc) >= price
        self.emit("operation", account=acc.id, resource=d["id"], operation="purchase",
                  allowed=allowed, rule=None,
                  reason=None if allowed else "insufficient available credit")
        if allowed:
            cash, vouchers = self.take(acc, price)
            self.create(acc, d, self.now)
            self.emit("payment", account=acc.id, resource=d["id"], operation="purchase",
                      cash=cash, vouchers=vouchers)
            self.after_ledger_change(acc)

    # --- the protocol's verbs ----------------------------------------------------------
    def apply(self, event):
        (kind, e), = event.items()
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

    def apply_now(self, kind, e):
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
            else:
                acc.vouchers += e["amount"]
            self.emit("top_up" if kind == "top_up" else "voucher_granted", account=acc.id,
                      amount=e["amount"])
            if kind == "top_up":
                self.settle(acc, "top-up")
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

    def observe(self):
        accounts = [dict(
            account=acc.id, cash=acc.cash, vouchers=acc.vouchers,
            available_credit=self.available(acc), overdue_since=show(acc.overdue_since),
            outstanding_bills=[dict(
                bill=b.id, resource=b.resource.id, amount=b.amount,
                settlement_date=show(b.settlement), status=b.status, attempts=b.attempts,
                next_attempt=show(b.next_attempt))
                for b in sorted((b for b in acc.bills if b.status != "paid"),
                                key=lambda b: (b.settlement, b.id))],
            fee_operations=[dict(product=p, operation=op,
                                 allowed=not (refused and acc.overdue_since is not None))
                            for p, ops, refused in self.fee_table for op in ops])
            for acc in self.accounts.values()]
        resources = [dict(
            resource=res.id, account=res.account.id, product=PRODUCT,
            lifecycle=LIFECYCLES[res.billing][0], state=res.state, since=show(res.since),
            serving=self.state(res)[0], data=self.state(res)[1], billing=self.state(res)[2],
            billing_method=res.billing,             # a MaxCompute instance keeps its own
            overdue_since=show(res.overdue_since),
            oldest_overdue_bill=show(self.oldest_overdue_bill(res)),
            purchased_at=show(res.purchased_at), expires_at=show(res.expires_at),
            operations={op: self.decide(res, op)[0] for op in OPERATIONS})
            for res in self.resources.values()]
        events, self.log = self.log, []
        return dict(at=show(self.now), accounts=accounts, resources=resources), events


def answer(request, session):
    """The reply to one request (without its id)."""
    kind = request.get("type")
    if kind == "hello":
        offered = [p.get("product") for p in request.get("products") or []]
        rows = [row for row in FEE_TABLE if row[0] in offered]
        session["fees"] = sorted(rows, key=lambda row: offered.index(row[0])) or FEE_TABLE
        return dict(type="hello", protocol=PROTOCOL,
                    implementation="arrears-maxcompute python adapter 0.1.0",
                    implements=[dict(product=PRODUCT, billing=["subscription", "pay-as-you-go"])])
    if kind == "bye":
        return dict(type="ok")
    if kind == "load":
        session["engine"] = None
        session["engine"] = Engine(request["history"], session.get("fees", FEE_TABLE))
        return dict(type="ok")
    if kind not in ("apply", "advance", "observe"):
        raise Unsupported(f"unknown request `{kind}`")
    engine = session.get("engine")
    if engine is None:
        raise Refused("no history is loaded")
    if kind == "observe":
        observation, events = engine.observe()
        return dict(type="observation", observation=observation, events=events)
    if kind == "apply":
        engine.apply(request["event"])
    else:
        engine.advance(parse_instant(request["to"]))
    return dict(type="ok")


def main():
    session = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = {}
        try:
            request = json.loads(line)
            reply = answer(request, session)
        except Unsupported as e:
            reply = dict(type="unsupported", reason=str(e))
        except Refused as e:
            reply = dict(type="error", message=str(e))
        except Exception as e:                           # never crash: report and go on
            reply = dict(type="error", message=f"{type(e).__name__}: {e}")
        request_id = request.get("id", 0) if isinstance(request, dict) else 0
        sys.stdout.write(json.dumps(dict(id=request_id, **reply), separators=(",", ":")) + "\n")
        sys.stdout.flush()
        if isinstance(request, dict) and request.get("type") == "bye":
            break


if __name__ == "__main__":
    main()
