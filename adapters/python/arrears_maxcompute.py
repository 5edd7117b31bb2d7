#!/usr/bin/env python3
"""A MaxCompute engine behind the arrears adapter protocol (arrears-adapter/1).

Standard library only. It implements one product, MaxCompute
(specs/maxcompute.yaml), for subscription and pay-as-you-go instances, and
reports in the observation vocabulary (docs/observations.md). Run it as
`arrears verify --sut "python3 adapters/python/arrears_maxcompute.py"`.

The engine keeps one agenda of scheduled actions (deductions and timed
transitions) ordered by (instant, sequence number), so that a long clock jump
still runs everything at its own instant, in the order it was planned.
"""
import heapq
import json
import re
import sys
from collections import deque
from datetime import datetime, timezone

PROTOCOL = "arrears-adapter/1"
PRODUCT = "maxcompute"
DAY = 86400

# --- the spec, as data (specs/maxcompute.yaml) ------------------------------
R_OVERDUE = "maxcompute.payg.overdue-when-unpaid-at-due"   # also the billing rule
R_CLEAR = "maxcompute.overdue.clear-to-avoid-release"
R_UNPAID_LOCK = "maxcompute.payg.locked-after-15-days"
R_EXPIRY_LOCK = "maxcompute.sub.locked-at-expiry"
R_RELEASED = "maxcompute.sub.released-after-15-days"
R_GONE = "maxcompute.sub.data-unrecoverable"
R_DENIED = "maxcompute.locked.access-denied"
OVERDUE_NOTICE = ("maxcompute.notify.overdue", "maxcompute.payg.reminder-by-default")
# The account-level credit alert is ECS's (specs/ecs.yaml), sent for any account.
CREDIT_ALERT = ("ecs.notify.credit-alert", "ecs.prevent.credit-alert")
OPERATIONS = ["release", "renew", "run-task"]      # sorted; renew is fee-incurring
FEE_OPERATIONS = {"renew"}
DENIES_FEE_OPS_WHILE_OVERDUE = False               # no `account:` section in the spec
LOCK_DAYS = 15                                     # expiry-lock-period, unpaid-lock-after

# state -> (serving, data, billing, terminal, {operation: rule that denies it})
LOCKED = ("no", "retained", "unspecified", False, {"run-task": R_DENIED})
RELEASED = ("no", "deleted", "ceased", True, {})
# Transitions in declaration order: (id, from, to, trigger, rule). A trigger is
# ("after", seconds, anchor), ("signal", name) or ("op", operation).
LIFECYCLES = {
    "subscription": ("maxcompute.subscription-instance", {
        "active": ("yes", "retained", "unspecified", False, {}),
        "locked": LOCKED, "released": RELEASED,
    }, [
        ("locked-at-expiry", ["active"], "locked", ("after", 0, "expiry"), R_EXPIRY_LOCK),
        ("renewed-while-locked", ["locked"], "active", ("op", "renew"), R_RELEASED),
        ("released-after-15-days", ["locked"], "released",
         ("after", LOCK_DAYS * DAY, "expiry"), R_RELEASED),
        ("user-release", ["active", "locked"], "released", ("op", "release"), R_GONE),
    ]),
    "pay-as-you-go": ("maxcompute.payg-instance", {
        "active": ("yes", "retained", "running", False, {}),
        "overdue": ("yes", "retained", "running", False, {}),
        "locked": LOCKED, "released": RELEASED,
    }, [
        ("becomes-overdue", ["active"], "overdue", ("signal", "overdue"), R_OVERDUE),
        ("settled", ["overdue"], "active", ("signal", "settled"), R_CLEAR),
        ("locked-after-15-days", ["overdue"], "locked",
         ("after", LOCK_DAYS * DAY, "oldest-overdue-bill"), R_UNPAID_LOCK),
        ("unlocked-after-settlement", ["locked"], "active", ("signal", "settled"), R_CLEAR),
        ("user-release", ["active", "overdue", "locked"], "released", ("op", "release"), R_GONE),
    ]),
}
# What `arrears serve` reports in every account's fee_operations, in catalog
# order: (product, sorted fee-incurring operations, denied while overdue).
FEE_TABLE = [("ecs", ["purchase", "renew", "upgrade"], True),
             ("emr", ["purchase", "renew"], True),
             (PRODUCT, sorted(FEE_OPERATIONS), DENIES_FEE_OPS_WHILE_OVERDUE),
             ("flink", ["purchase", "renew"], True)]


class Unsupported(Exception):
    pass


class Refused(Exception):
    pass


def parse_instant(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def show(t):
    return None if t is None else \
        datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_span(text):
    """`+15d`, `-2d`, `1d12h`, `30s` -> seconds."""
    m = re.fullmatch(r"([+-]?)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text.strip())
    if not m or not any(m.groups()[1:]):
        raise Refused(f"invalid duration `{text}`")
    d, h, mi, s = (int(g or 0) for g in m.groups()[1:])
    return (-1 if m.group(1) == "-" else 1) * (d * DAY + h * 3600 + mi * 60 + s)


class Engine:
    """The ledger and the two MaxCompute lifecycles, driven step by step."""

    def __init__(self, history, fee_table):
        self.start = self.now = parse_instant(history["start"])
        self.fee_table = fee_table
        self.accounts, self.account_ix = [], {}
        self.resources, self.resource_ix = [], {}
        self.bills, self.agenda, self.seq, self.log = [], [], 0, []
        self.stimuli, self.dirty = deque(), set()
        for a in history["accounts"]:
            if a["id"] in self.account_ix:
                raise Refused(f"account `{a['id']}` is listed twice")
            self.account_ix[a["id"]] = len(self.accounts)
            self.accounts.append(dict(id=a["id"], cash=a.get("cash", 0),
                                      vouchers=a.get("vouchers", 0),
                                      threshold=a.get("credit_alert"), below=False,
                                      overdue_since=None, overdue_bills=0,
                                      resources=[], bills=[]))
        for r in history.get("resources", []):
            purchased = self.start + parse_span(r.get("purchased_at") or "0s")
            self.create(self.account_named(r.get("account", "")), r, purchased)
        for a in range(len(self.accounts)):
            self.check_credit_alert(a)
        self.settle_instant()

    # --- lookups and bookkeeping -------------------------------------------
    def account_named(self, name):
        if name not in self.account_ix:
            raise Refused(f"unknown account `{name}`")
        return self.account_ix[name]

    def resource_named(self, name):
        if name not in self.resource_ix:
            raise Refused(f"unknown resource `{name}`")
        return self.resource_ix[name]

    def emit(self, event, **fields):
        self.log.append(dict(event=event, at=show(self.now), **fields))

    def schedule(self, due, kind, *args):
        self.seq += 1
        heapq.heappush(self.agenda, (due, self.seq, kind, args))

    def available(self, a):
        return self.accounts[a]["cash"] + self.accounts[a]["vouchers"]

    def state(self, r):
        res = self.resources[r]
        return LIFECYCLES[res["billing"]][1][res["state"]]

    def transitions(self, r):
        res = self.resources[r]
        return [(i, t) for i, t in enumerate(LIFECYCLES[res["billing"]][2])
                if res["state"] in t[1]]

    def anchor(self, r, name):
        res = self.resources[r]
        if name == "expiry":
            return res["expires_at"]
        dates = [self.bills[b]["settlement"] for b in res["bills"]
                 if self.bills[b]["status"] in ("overdue", "overdrawn")]
        return min(dates) if dates else None

    def create(self, a, d, purchased):
        if d.get("product") != PRODUCT or d.get("kind") != "instance" or d.get("parent") \
                or d.get("billing") not in LIFECYCLES:
            raise Unsupported(f"only MaxCompute subscription and pay-as-you-go instances are "
                              f"implemented, not a {d.get('product')} {d.get('kind')} "
                              f"({d.get('billing')})")
        if d["id"] in self.resource_ix:
            raise Refused(f"resource `{d['id']}` already exists")
        term = parse_span(d["term"]) if d.get("term") else None
        r = len(self.resources)
        self.resources.append(dict(
            id=d["id"], account=a, billing=d["billing"], state="active", entered=self.now,
            entered_rule=None, purchased_at=purchased, hourly_price=d.get("hourly_price"),
            expires_at=None if term is None else purchased + term,
            overdue_since=None, overdue_bills=0, bills=[], timer_generation=0))
        self.resource_ix[d["id"]] = r
        self.accounts[a]["resources"].append(r)
        self.dirty.add(r)
        return r

    # --- the clock -----------------------------------------------------------
    def run_agenda(self, until, inclusive):
        while self.agenda and (self.agenda[0][0] < until
                               or (inclusive and self.agenda[0][0] == until)):
            due, _, kind, args = heapq.heappop(self.agenda)
            self.now = max(self.now, due)
            (self.scheduled_deduction if kind == "deduction" else self.timer)(*args)
            self.settle_instant()

    def advance(self, to):
        self.run_agenda(to, True)
        self.now = max(self.now, to)

    def settle_instant(self):
        """Delivers the signals of the last step, then re-plans timers."""
        while True:
            while self.stimuli:
                self.deliver(*self.stimuli.popleft())
            dirty, self.dirty = sorted(self.dirty), set()
            for r in dirty:
                self.plan_timer(r)
            if not self.stimuli:
                return

    def plan_timer(self, r):
        res = self.resources[r]
        res["timer_generation"] += 1
        if self.state(r)[3]:
            return
        dues = [self.anchor(r, t[3][2]) + t[3][1] for _, t in self.transitions(r)
                if t[3][0] == "after" and self.anchor(r, t[3][2]) is not None]
        if dues:
            self.schedule(max(min(dues), self.now), "timer", r, res["timer_generation"])

    def timer(self, r, generation):
        if self.resources[r]["timer_generation"] != generation or self.state(r)[3]:
            return
        best = None
        for i, t in self.transitions(r):
            if t[3][0] == "after" and self.anchor(r, t[3][2]) is not None:
                due = self.anchor(r, t[3][2]) + t[3][1]
                if due <= self.now and (best is None or due < best[0]):
                    best = (due, i)
        if best:
            self.fire(r, best[1])
        else:
            self.dirty.add(r)

    def deliver(self, r, signal):
        if self.state(r)[3]:
            return
        for i, t in self.transitions(r):
            if t[3] == ("signal", signal):
                return self.fire(r, i)

    def fire(self, r, i):
        res = self.resources[r]
        tid, _, to, _, rule = LIFECYCLES[res["billing"]][2][i]
        self.emit("transition", resource=res["id"], lifecycle=LIFECYCLES[res["billing"]][0],
                  **{"from": res["state"]}, to=to, transition=tid, rule=rule)
        res.update(state=to, entered=self.now, entered_rule=rule)
        self.dirty.add(r)

    # --- the ledger ------------------------------------------------------------
    def take(self, a, amount):
        acc = self.accounts[a]
        vouchers = min(acc["vouchers"], amount)
        acc["vouchers"] -= vouchers
        acc["cash"] -= amount - vouchers
        return amount - vouchers, vouchers

    def charge(self, r, amount):
        res = self.resources[r]
        account = self.accounts[res["account"]]["id"]
        serving, data, billing, terminal, _ = self.state(r)
        if terminal or billing == "ceased":
            return self.emit("charge_skipped", account=account, resource=res["id"],
                             amount=amount, rule=res["entered_rule"])
        b = len(self.bills)
        res["bills"].append(b)
        self.accounts[res["account"]]["bills"].append(b)
        self.bills.append(dict(id=f"{res['id']}/{len(res['bills'])}", account=res["account"],
                               resource=r, amount=amount, settlement=self.now, attempts=0,
                               status="pending", next_attempt=self.now))
        self.emit("charge", account=account, resource=res["id"], bill=self.bills[b]["id"],
                  amount=amount)
        self.schedule(self.now, "deduction", b, 1)   # the only deduction, at T

    def scheduled_deduction(self, b, attempt):
        bill = self.bills[b]
        if bill["status"] in ("paid", "overdrawn") or bill["attempts"] + 1 != attempt:
            return
        self.attempt(b, "scheduled")
        bill["next_attempt"] = None                  # no retry (maxcompute.interp.no-retries)
        self.after_ledger_change(bill["account"])

    def attempt(self, b, cause):
        bill = self.bills[b]
        bill["attempts"] += 1
        paid = self.available(bill["account"]) >= bill["amount"]
        notify = False
        if paid:
            self.take(bill["account"], bill["amount"])
            bill["next_attempt"] = None
        elif bill["status"] == "pending":
            self.mark(b, "overdue")
            notify = True
        res = self.resources[bill["resource"]]
        self.emit("deduction", account=self.accounts[bill["account"]]["id"],
                  resource=res["id"], bill=bill["id"], amount=bill["amount"],
                  attempt=bill["attempts"], cause=cause,
                  outcome="paid" if paid else "failed", rule=R_OVERDUE)
        if paid:
            self.mark(b, "paid")
        if notify:
            self.notify(bill["account"], res["id"], OVERDUE_NOTICE)

    def mark(self, b, status):
        bill = self.bills[b]
        was = bill["status"] in ("overdue", "overdrawn")
        now = status in ("overdue", "overdrawn")
        bill["status"] = status
        acc, res = self.accounts[bill["account"]], self.resources[bill["resource"]]
        if was and not now:
            acc["overdue_bills"] -= 1
            res["overdue_bills"] -= 1
            self.emit("bill_settled", account=acc["id"], resource=res["id"], bill=bill["id"])
        elif now and not was:
            acc["overdue_bills"] += 1
            res["overdue_bills"] += 1

    def settle(self, a, cause):
        """Pays overdue bills, oldest first, each whole, until one does not fit."""
        overdue = sorted((self.bills[b]["settlement"], b) for b in self.accounts[a]["bills"]
                         if self.bills[b]["status"] == "overdue")
        for _, b in overdue:
            if self.available(a) < self.bills[b]["amount"]:
                break
            self.attempt(b, cause)

    def notify(self, a, resource, notice):
        self.emit("notification", account=self.accounts[a]["id"], resource=resource,
                  notification=notice[0], rule=notice[1])

    def check_credit_alert(self, a):
        acc = self.accounts[a]
        if acc["threshold"] is None:
            return
        below = self.available(a) < acc["threshold"]
        if below and not acc["below"]:
            self.notify(a, None, CREDIT_ALERT)
        acc["below"] = below

    def after_ledger_change(self, a):
        """Recomputes overdue status and signals each resource that changed."""
        self.check_credit_alert(a)
        acc = self.accounts[a]
        for r in acc["resources"]:
            res = self.resources[r]
            if res["overdue_bills"] > 0 and res["overdue_since"] is None:
                res["overdue_since"] = self.now
                self.stimuli.append((r, "overdue"))
            elif res["overdue_bills"] == 0 and res["overdue_since"] is not None:
                res["overdue_since"] = None
                self.stimuli.append((r, "settled"))
            self.dirty.add(r)
        if acc["overdue_bills"] > 0 and acc["overdue_since"] is None:
            acc["overdue_since"] = self.now
        elif acc["overdue_bills"] == 0:
            acc["overdue_since"] = None

    # --- operations ----------------------------------------------------------------
    def decide(self, r, op):
        """(allowed, rule, reason, transition index) for `op` on `r` now."""
        res = self.resources[r]
        _, _, _, terminal, denied = self.state(r)
        if terminal:
            return False, res["entered_rule"], f"the resource is {res['state']}", None
        if op in denied:
            return False, denied[op], f"not allowed while {res['state']}", None
        for i, t in self.transitions(r):
            if t[3] == ("op", op):
                return True, None, None, i
        return True, None, None, None

    def log_operation(self, a, resource, op, allowed, rule, reason):
        self.emit("operation", account=self.accounts[a]["id"], resource=resource,
                  operation=op, allowed=allowed, rule=rule, reason=reason)

    def operate(self, r, op, price=None, term=0):
        if op not in OPERATIONS:
            raise Unsupported(f"MaxCompute has no operation `{op}`")
        res, a = self.resources[r], self.resources[r]["account"]
        allowed, rule, reason, transition = self.decide(r, op)
        if allowed and price is not None and self.available(a) < price:
            allowed, rule, reason, transition = False, None, "insufficient available credit", None
        self.log_operation(a, res["id"], op, allowed, rule, reason)
        if not allowed:
            return
        if price is not None:                       # a paid operation: renew
            cash, vouchers = self.take(a, price)
            self.emit("payment", account=self.accounts[a]["id"], resource=res["id"],
                      operation=op, cash=cash, vouchers=vouchers)
            if res["expires_at"] is not None:      # extended from the old expiry
                res["expires_at"] += term
            self.dirty.add(r)
            self.after_ledger_change(a)
        if transition is not None:
            self.fire(r, transition)

    def purchase(self, a, d, price):
        if self.available(a) < price:
            return self.log_operation(a, d["id"], "purchase", False, None,
                                      "insufficient available credit")
        self.log_operation(a, d["id"], "purchase", True, None, None)
        cash, vouchers = self.take(a, price)
        r = self.create(a, d, self.now)
        self.emit("payment", account=self.accounts[a]["id"], resource=d["id"],
                  operation="purchase", cash=cash, vouchers=vouchers)
        self.after_ledger_change(a)
        self.dirty.add(r)

    # --- the protocol's verbs ------------------------------------------------------
    def apply(self, event):
        if not isinstance(event, dict) or len(event) != 1:
            raise Unsupported("an event is a one-key object")
        (kind, e), = event.items()
        handlers = {"charge", "top_up", "grant_voucher", "pay_now", "purchase", "renew",
                    "operate"}
        if kind not in handlers:
            raise Unsupported(f"MaxCompute has no `{kind}` event")
        at = self.start + parse_span(e["at"])
        if at < self.now:
            raise Refused("events must come in time order")
        if kind == "purchase":                      # check before anything moves
            self.create_check(e["resource"])
        self.run_agenda(at, False)                  # events first at one instant
        self.now = max(self.now, at)
        if kind == "charge":
            r = self.resource_named(e["resource"])
            amount = e.get("amount")
            if amount is None:
                if e.get("hours") is None or self.resources[r]["hourly_price"] is None:
                    raise Refused("give `amount`, or `hours` with an hourly_price")
                amount = self.resources[r]["hourly_price"] * e["hours"]
            self.charge(r, amount)
        elif kind == "top_up":
            a = self.account_named(e["account"])
            self.accounts[a]["cash"] += e["amount"]
            self.emit("top_up", account=e["account"], amount=e["amount"])
            self.settle(a, "top-up")
            self.after_ledger_change(a)
        elif kind == "grant_voucher":
            a = self.account_named(e["account"])
            self.accounts[a]["vouchers"] += e["amount"]
            self.emit("voucher_granted", account=e["account"], amount=e["amount"])
            self.after_ledger_change(a)
        elif kind == "pay_now":
            a = self.account_named(e["account"])
            self.settle(a, "pay-now")
            self.after_ledger_change(a)
        elif kind == "purchase":
            self.purchase(self.account_named(e["account"]), e["resource"], e.get("price", 0))
        elif kind == "renew":
            self.operate(self.resource_named(e["resource"]), "renew", e["price"],
                         parse_span(e["term"]))
        else:
            self.operate(self.resource_named(e["resource"]), e["operation"])
        self.settle_instant()

    def create_check(self, d):
        if d.get("product") != PRODUCT or d.get("kind") != "instance" or d.get("parent") \
                or d.get("billing") not in LIFECYCLES:
            raise Unsupported(f"only MaxCompute instances can be bought here, not "
                              f"{d.get('product')} {d.get('kind')}")

    def observe(self):
        accounts = []
        for acc in self.accounts:
            bills = sorted((self.bills[b] for b in acc["bills"]
                            if self.bills[b]["status"] != "paid"),
                           key=lambda x: (x["settlement"], x["id"]))
            overdue = acc["overdue_since"] is not None
            accounts.append(dict(
                account=acc["id"], cash=acc["cash"], vouchers=acc["vouchers"],
                available_credit=acc["cash"] + acc["vouchers"],
                overdue_since=show(acc["overdue_since"]),
                outstanding_bills=[dict(bill=b["id"], resource=self.resources[b["resource"]]["id"],
                                        amount=b["amount"], settlement_date=show(b["settlement"]),
                                        status=b["status"], attempts=b["attempts"],
                                        next_attempt=show(b["next_attempt"])) for b in bills],
                fee_operations=[dict(product=p, operation=op, allowed=not (overdue and deny))
                                for p, ops, deny in self.fee_table for op in ops]))
        resources = []
        for r, res in enumerate(self.resources):
            serving, data, billing, _, _ = self.state(r)
            resources.append(dict(
                resource=res["id"], account=self.accounts[res["account"]]["id"],
                product=PRODUCT, lifecycle=LIFECYCLES[res["billing"]][0], state=res["state"],
                since=show(res["entered"]), serving=serving, data=data, billing=billing,
                overdue_since=show(res["overdue_since"]),
                oldest_overdue_bill=show(self.anchor(r, "oldest-overdue-bill")),
                purchased_at=show(res["purchased_at"]), expires_at=show(res["expires_at"]),
                operations={op: self.decide(r, op)[0] for op in OPERATIONS}))
        events, self.log = self.log, []
        return dict(at=show(self.now), accounts=accounts, resources=resources), events


def fee_table_for(offer):
    """The fee-operations table, in the order of the products arrears offers."""
    order = [p.get("product") for p in offer or []]
    rows = [row for row in FEE_TABLE if row[0] in order]
    return sorted(rows, key=lambda row: order.index(row[0])) if rows else FEE_TABLE


def answer(request, session):
    kind = request.get("type")
    if kind == "hello":
        session["fees"] = fee_table_for(request.get("products"))
        return dict(type="hello", protocol=PROTOCOL,
                    implementation="arrears-maxcompute (python adapter) 0.1.0",
                    implements=[dict(product=PRODUCT, billing=["subscription", "pay-as-you-go"])])
    if kind == "bye":
        return dict(type="ok")
    if kind == "load":
        session["engine"] = None
        session["engine"] = Engine(request["history"], session.get("fees", FEE_TABLE))
        return dict(type="ok")
    engine = session.get("engine")
    if kind in ("apply", "advance", "observe") and engine is None:
        raise Refused("no history is loaded")
    if kind == "apply":
        engine.apply(request["event"])
    elif kind == "advance":
        engine.advance(parse_instant(request["to"]))
    elif kind == "observe":
        observation, events = engine.observe()
        return dict(type="observation", observation=observation, events=events)
    else:
        raise Unsupported(f"unknown request `{kind}`")
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
        except Exception as e:                       # never crash: report and go on
            reply = dict(type="error", message=f"{type(e).__name__}: {e}")
        reply = dict(id=request.get("id", 0) if isinstance(request, dict) else 0, **reply)
        sys.stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        if isinstance(request, dict) and request.get("type") == "bye":
            break


if __name__ == "__main__":
    main()
