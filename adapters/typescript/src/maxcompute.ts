// MaxCompute (specs/maxcompute.yaml) as a small engine: subscription and
// pay-as-you-go instances, the ledger rules of specs/ecs.yaml's header, and
// one agenda of scheduled actions ordered by (instant, sequence number), so a
// long clock jump still runs everything at its own instant and in the order
// it was planned. The same engine as the Python kit's example
// (adapters/python/arrears_maxcompute.py), written again in TypeScript to show
// that the protocol does not care about the language.

import {
  Adapter, DAY, JsonObject, Offer, Refused, Unsupported, formatInstant, offsetSeconds, termEnd,
} from "./protocol";

const PRODUCT = "maxcompute";
const BILLING_RULE = "maxcompute.payg.overdue-when-unpaid-at-due";
const OVERDUE_NOTICE: Notice = ["maxcompute.notify.overdue", "maxcompute.payg.reminder-by-default"];
// Account-level, as the reference model sends it for any account with a threshold.
const CREDIT_ALERT: Notice = ["ecs.notify.credit-alert", "ecs.prevent.credit-alert"];
const OPERATIONS = ["release", "renew", "run-task"]; // sorted; renew is the fee-incurring one
const LOCK = 15 * DAY; // expiry-lock-period and unpaid-lock-after
const RELEASE_RULE = "maxcompute.sub.data-unrecoverable";
const CLEAR_RULE = "maxcompute.overdue.clear-to-avoid-release";
// What a refused task answers with, by the rule that refuses it (ODPS-0420095: Access Denied).
const ERROR_CODES: Record<string, string> = { "maxcompute.locked.access-denied": "ODPS-0420095" };
const EVENTS = new Set(["charge", "top_up", "grant_voucher", "pay_now", "purchase", "renew", "operate"]);

type Notice = [notification: string, rule: string];

interface State {
  serving: string;
  data: string;
  billing: string;
  terminal: boolean;
  denied: Record<string, string>; // operation -> the rule that denies it
}

type Trigger =
  | { after: number; anchor: "expiry" | "oldest-overdue-bill" }
  | { signal: "overdue" | "settled" }
  | { op: string };

interface Transition {
  id: string;
  from: string[];
  to: string;
  trigger: Trigger;
  rule: string;
}

interface Lifecycle {
  id: string;
  states: Record<string, State>;
  transitions: Transition[]; // in declaration order
}

const state = (serving: string, data: string, billing: string, terminal = false,
  denied: Record<string, string> = {}): State => ({ serving, data, billing, terminal, denied });
const LOCKED = state("no", "retained", "unspecified", false, { "run-task": "maxcompute.locked.access-denied" });
const RELEASED = state("no", "deleted", "ceased", true);

const LIFECYCLES: Record<string, Lifecycle> = {
  "subscription": {
    id: "maxcompute.subscription-instance",
    states: { active: state("yes", "retained", "unspecified"), locked: LOCKED, released: RELEASED },
    transitions: [
      { id: "locked-at-expiry", from: ["active"], to: "locked", trigger: { after: 0, anchor: "expiry" }, rule: "maxcompute.sub.locked-at-expiry" },
      { id: "renewed-while-locked", from: ["locked"], to: "active", trigger: { op: "renew" }, rule: "maxcompute.sub.released-after-15-days" },
      { id: "released-after-15-days", from: ["locked"], to: "released", trigger: { after: LOCK, anchor: "expiry" }, rule: "maxcompute.sub.released-after-15-days" },
      { id: "user-release", from: ["active", "locked"], to: "released", trigger: { op: "release" }, rule: RELEASE_RULE },
    ],
  },
  "pay-as-you-go": {
    id: "maxcompute.payg-instance",
    states: {
      active: state("yes", "retained", "running"), overdue: state("yes", "retained", "running"),
      locked: LOCKED, released: RELEASED,
    },
    transitions: [
      { id: "becomes-overdue", from: ["active"], to: "overdue", trigger: { signal: "overdue" }, rule: BILLING_RULE },
      { id: "settled", from: ["overdue"], to: "active", trigger: { signal: "settled" }, rule: CLEAR_RULE },
      { id: "locked-after-15-days", from: ["overdue"], to: "locked", trigger: { after: LOCK, anchor: "oldest-overdue-bill" }, rule: "maxcompute.payg.locked-after-15-days" },
      { id: "unlocked-after-settlement", from: ["locked"], to: "active", trigger: { signal: "settled" }, rule: CLEAR_RULE },
      { id: "user-release", from: ["active", "overdue", "locked"], to: "released", trigger: { op: "release" }, rule: RELEASE_RULE },
    ],
  },
};

interface Account {
  id: string;
  cash: number;
  vouchers: number;
  threshold: number | null;
  below: boolean;
  overdueSince: number | null;
  overdueBills: number;
  resources: Resource[];
  bills: Bill[];
}

interface Resource {
  id: string;
  index: number;
  account: Account;
  billing: string;
  state: string;
  since: number;
  enteredRule: string | null;
  purchasedAt: number;
  expiresAt: number | null;
  hourlyPrice: number | null;
  overdueSince: number | null;
  overdueBills: number;
  bills: Bill[];
  timerGeneration: number;
}

interface Bill {
  id: string;
  account: Account;
  resource: Resource;
  amount: number;
  settlement: number;
  attempts: number;
  status: "pending" | "overdue" | "paid";
  nextAttempt: number | null;
}

type Action = { kind: "deduction"; bill: Bill; attempt: number } | { kind: "timer"; resource: Resource; generation: number };

interface Entry {
  due: number;
  seq: number;
  action: Action;
}

const num = (v: unknown, what: string): number => {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Refused(`\`${what}\` must be a whole number`);
  return v;
};
const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") throw new Refused(`\`${what}\` must be a string`);
  return v;
};
const compare = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0);
// The smallest (due, transition index) pair, as Python's min() of tuples.
const earliest = (pairs: [number, number][]): [number, number] | undefined =>
  pairs.reduce<[number, number] | undefined>((best, p) =>
    best === undefined || p[0] < best[0] || (p[0] === best[0] && p[1] < best[1]) ? p : best, undefined);

function checkSupported(d: JsonObject): void {
  const billing = d["billing"];
  if (d["product"] !== PRODUCT || d["kind"] !== "instance" || d["parent"]
    || typeof billing !== "string" || !(billing in LIFECYCLES)) {
    throw new Unsupported(`only MaxCompute subscription and pay-as-you-go instances are implemented, not ${String(d["product"])} ${String(d["kind"])} (${String(billing)})`);
  }
}

export class Engine {
  private now: number;
  private readonly accounts = new Map<string, Account>();
  private readonly resources = new Map<string, Resource>();
  private readonly created: Resource[] = []; // in creation order
  private agenda: Entry[] = [];
  private seq = 0;
  private log: JsonObject[] = [];
  private readonly stimuli: [Resource, "overdue" | "settled"][] = [];
  private dirty = new Set<number>();

  constructor(private readonly start: number, accounts: JsonObject[], resources: JsonObject[],
    private readonly offer: Offer) {
    this.now = start;
    for (const a of accounts) {
      const id = str(a["id"], "id");
      if (this.accounts.has(id)) throw new Refused(`account \`${id}\` is listed twice`);
      this.accounts.set(id, {
        id, cash: num(a["cash"] ?? 0, "cash"), vouchers: num(a["vouchers"] ?? 0, "vouchers"),
        threshold: a["credit_alert"] == null ? null : num(a["credit_alert"], "credit_alert"),
        below: false, overdueSince: null, overdueBills: 0, resources: [], bills: [],
      });
    }
    for (const d of resources) {
      const purchased = typeof d["purchased_at"] === "string" && d["purchased_at"] !== ""
        ? d["purchased_at"] : "0s";
      this.create(this.account(d["account"] ?? ""), d, this.start + offsetSeconds(purchased));
    }
    for (const acc of this.accounts.values()) this.checkCreditAlert(acc);
    this.settleInstant();
  }

  // --- resources and their lifecycles -------------------------------------------
  private account(name: unknown): Account {
    const acc = typeof name === "string" ? this.accounts.get(name) : undefined;
    if (acc === undefined) throw new Refused(`unknown account \`${String(name)}\``);
    return acc;
  }

  private resource(name: unknown): Resource {
    const res = typeof name === "string" ? this.resources.get(name) : undefined;
    if (res === undefined) throw new Refused(`unknown resource \`${String(name)}\``);
    return res;
  }

  private create(acc: Account, d: JsonObject, purchased: number): Resource {
    checkSupported(d);
    const id = str(d["id"], "id");
    if (this.resources.has(id)) throw new Refused(`resource \`${id}\` already exists`);
    const term = d["term"];
    const res: Resource = {
      id, index: this.resources.size, account: acc, billing: d["billing"] as string,
      state: "active", since: this.now, enteredRule: null, purchasedAt: purchased,
      expiresAt: typeof term === "string" && term !== "" ? termEnd(purchased, term) : null,
      hourlyPrice: d["hourly_price"] == null ? null : num(d["hourly_price"], "hourly_price"),
      overdueSince: null, overdueBills: 0, bills: [], timerGeneration: 0,
    };
    this.resources.set(id, res);
    this.created.push(res);
    acc.resources.push(res);
    this.dirty.add(res.index);
    return res;
  }

  private lifecycle(res: Resource): Lifecycle {
    return LIFECYCLES[res.billing] as Lifecycle;
  }

  private stateOf(res: Resource): State {
    return this.lifecycle(res).states[res.state] as State;
  }

  private transitions(res: Resource): [number, Transition][] {
    return this.lifecycle(res).transitions
      .map((t, i): [number, Transition] => [i, t])
      .filter(([, t]) => t.from.includes(res.state));
  }

  private oldestOverdueBill(res: Resource): number | null {
    const overdue = res.bills.filter((b) => b.status === "overdue").map((b) => b.settlement);
    return overdue.length === 0 ? null : Math.min(...overdue);
  }

  /** (due, index) of each timed transition out of the current state. */
  private timed(res: Resource): [number, number][] {
    const out: [number, number][] = [];
    for (const [i, t] of this.transitions(res)) {
      if (!("after" in t.trigger)) continue;
      const anchor = t.trigger.anchor === "expiry" ? res.expiresAt : this.oldestOverdueBill(res);
      if (anchor !== null) out.push([anchor + t.trigger.after, i]);
    }
    return out;
  }

  private fire(res: Resource, i: number): void {
    const t = this.lifecycle(res).transitions[i] as Transition;
    this.emit({
      event: "transition", resource: res.id, lifecycle: this.lifecycle(res).id,
      from: res.state, to: t.to, transition: t.id, rule: t.rule,
    });
    res.state = t.to;
    res.since = this.now;
    res.enteredRule = t.rule;
    this.dirty.add(res.index);
  }

  // --- the clock -------------------------------------------------------------------
  private emit(fields: JsonObject): void {
    const { event, ...rest } = fields;
    this.log.push({ event: event ?? null, at: formatInstant(this.now), ...rest });
  }

  private schedule(due: number, action: Action): void {
    this.seq += 1;
    this.agenda.push({ due, seq: this.seq, action });
  }

  private nextDue(): Entry | undefined {
    return this.agenda.reduce<Entry | undefined>((best, e) =>
      best === undefined || e.due < best.due || (e.due === best.due && e.seq < best.seq) ? e : best, undefined);
  }

  private runAgenda(until: number, inclusive: boolean): void {
    for (;;) {
      const next = this.nextDue();
      if (next === undefined || !(next.due < until || (inclusive && next.due === until))) return;
      this.agenda = this.agenda.filter((e) => e !== next);
      this.now = Math.max(this.now, next.due);
      const a = next.action;
      if (a.kind === "deduction") this.scheduledDeduction(a.bill, a.attempt);
      else this.timer(a.resource, a.generation);
      this.settleInstant();
    }
  }

  advance(to: number): void {
    this.runAgenda(to, true);
    this.now = Math.max(this.now, to);
  }

  /** Delivers the signals the last step raised, then re-plans the timers. */
  private settleInstant(): void {
    for (;;) {
      for (let s = this.stimuli.shift(); s !== undefined; s = this.stimuli.shift()) {
        const [res, signal] = s;
        if (this.stateOf(res).terminal) continue;
        const fired = this.transitions(res).find(([, t]) => "signal" in t.trigger && t.trigger.signal === signal);
        if (fired) this.fire(res, fired[0]);
      }
      const dirty = [...this.dirty].sort((a, b) => a - b);
      this.dirty = new Set();
      for (const index of dirty) this.planTimer(this.created[index] as Resource);
      if (this.stimuli.length === 0) return;
    }
  }

  private planTimer(res: Resource): void {
    res.timerGeneration += 1;
    const first = earliest(this.timed(res));
    if (!this.stateOf(res).terminal && first !== undefined) {
      this.schedule(Math.max(first[0], this.now), { kind: "timer", resource: res, generation: res.timerGeneration });
    }
  }

  private timer(res: Resource, generation: number): void {
    if (res.timerGeneration !== generation || this.stateOf(res).terminal) return;
    const due = earliest(this.timed(res).filter(([d]) => d <= this.now));
    if (due !== undefined) this.fire(res, due[1]); // the earliest; the first declared on a tie
    else this.dirty.add(res.index);
  }

  // --- the ledger --------------------------------------------------------------------
  /** Vouchers before cash; returns the [cash, vouchers] split. */
  private take(acc: Account, amount: number): [number, number] {
    const vouchers = Math.min(acc.vouchers, amount);
    acc.vouchers -= vouchers;
    acc.cash -= amount - vouchers;
    return [amount - vouchers, vouchers];
  }

  private available(acc: Account): number {
    return acc.cash + acc.vouchers;
  }

  private charge(res: Resource, amount: number): void {
    const st = this.stateOf(res);
    if (st.terminal || st.billing === "ceased") {
      this.emit({ event: "charge_skipped", account: res.account.id, resource: res.id, amount, rule: res.enteredRule });
      return;
    }
    const bill: Bill = {
      id: `${res.id}/${res.bills.length + 1}`, account: res.account, resource: res, amount,
      settlement: this.now, attempts: 0, status: "pending", nextAttempt: this.now,
    };
    res.bills.push(bill);
    res.account.bills.push(bill);
    this.emit({ event: "charge", account: res.account.id, resource: res.id, bill: bill.id, amount });
    this.schedule(this.now, { kind: "deduction", bill, attempt: 1 }); // the only attempt, at T
  }

  private scheduledDeduction(bill: Bill, attempt: number): void {
    if (bill.status === "paid" || bill.attempts + 1 !== attempt) return;
    this.attempt(bill, "scheduled");
    bill.nextAttempt = null; // no retry: maxcompute.interp.no-retries
    this.afterLedgerChange(bill.account);
  }

  private attempt(bill: Bill, cause: string): void {
    bill.attempts += 1;
    const paid = this.available(bill.account) >= bill.amount;
    const becameOverdue = !paid && bill.status === "pending";
    if (paid) {
      this.take(bill.account, bill.amount);
      bill.nextAttempt = null;
    } else if (becameOverdue) {
      this.mark(bill, "overdue");
    }
    this.emit({
      event: "deduction", account: bill.account.id, resource: bill.resource.id, bill: bill.id,
      amount: bill.amount, attempt: bill.attempts, cause, outcome: paid ? "paid" : "failed", rule: BILLING_RULE,
    });
    if (paid) this.mark(bill, "paid");
    if (becameOverdue) this.notify(bill.account, bill.resource.id, OVERDUE_NOTICE);
  }

  private mark(bill: Bill, status: Bill["status"]): void {
    const was = bill.status === "overdue" ? 1 : 0;
    bill.status = status;
    const step = (status === "overdue" ? 1 : 0) - was;
    bill.account.overdueBills += step;
    bill.resource.overdueBills += step;
    if (step < 0) {
      this.emit({ event: "bill_settled", account: bill.account.id, resource: bill.resource.id, bill: bill.id });
    }
  }

  /** Pays overdue bills, oldest first, each whole, until one does not fit. */
  private settle(acc: Account, cause: string): void {
    const overdue = acc.bills.filter((b) => b.status === "overdue")
      .sort((a, b) => a.settlement - b.settlement); // stable: then in billing order
    for (const bill of overdue) {
      if (this.available(acc) < bill.amount) break;
      this.attempt(bill, cause);
    }
  }

  private notify(acc: Account, resource: string | null, [notification, rule]: Notice): void {
    this.emit({ event: "notification", account: acc.id, resource, notification, rule });
  }

  private checkCreditAlert(acc: Account): void {
    if (acc.threshold === null) return;
    const below = this.available(acc) < acc.threshold;
    if (below && !acc.below) this.notify(acc, null, CREDIT_ALERT);
    acc.below = below;
  }

  /** Recomputes who is overdue and signals each resource whose status changed. */
  private afterLedgerChange(acc: Account): void {
    this.checkCreditAlert(acc);
    for (const res of acc.resources) {
      if (res.overdueBills > 0 && res.overdueSince === null) {
        res.overdueSince = this.now;
        this.stimuli.push([res, "overdue"]);
      } else if (res.overdueBills === 0 && res.overdueSince !== null) {
        res.overdueSince = null;
        this.stimuli.push([res, "settled"]);
      }
      this.dirty.add(res.index);
    }
    if (acc.overdueBills === 0) acc.overdueSince = null;
    else if (acc.overdueSince === null) acc.overdueSince = this.now;
  }

  // --- operations --------------------------------------------------------------------
  /** [allowed, rule, reason, transition] for `op` on `res` now. */
  private decide(res: Resource, op: string): [boolean, string | null, string | null, number | null] {
    const st = this.stateOf(res);
    if (st.terminal) return [false, res.enteredRule, `the resource is ${res.state}`, null];
    const denied = st.denied[op];
    if (denied !== undefined) return [false, denied, `not allowed while ${res.state}`, null];
    const triggered = this.transitions(res).find(([, t]) => "op" in t.trigger && t.trigger.op === op);
    return [true, null, null, triggered ? triggered[0] : null];
  }

  private operate(res: Resource, op: string, price: number | null = null, term: string | null = null): void {
    if (!OPERATIONS.includes(op)) throw new Unsupported(`MaxCompute has no operation \`${op}\``);
    let [allowed, rule, reason] = this.decide(res, op);
    const transition = this.decide(res, op)[3];
    if (allowed && price !== null && this.available(res.account) < price) {
      [allowed, rule, reason] = [false, null, "insufficient available credit"];
    }
    const code = !allowed && rule !== null ? ERROR_CODES[rule] : undefined;
    this.emit({
      event: "operation", account: res.account.id, resource: res.id, operation: op, allowed, rule, reason,
      ...(code === undefined ? {} : { error_code: code }),
    });
    if (allowed && price !== null) { // a renewal: pay, then extend
      const [cash, vouchers] = this.take(res.account, price);
      this.emit({ event: "payment", account: res.account.id, resource: res.id, operation: op, cash, vouchers });
      if (res.expiresAt !== null && term) res.expiresAt = termEnd(res.expiresAt, term); // from the old expiry
      this.dirty.add(res.index);
      this.afterLedgerChange(res.account);
    }
    // A renewal too short to reach the present leaves the instance expired
    // (and locked), its release counted from the new expiry.
    const stillExpired = Boolean(term) && res.expiresAt !== null && res.expiresAt <= this.now;
    if (allowed && transition !== null && !stillExpired) this.fire(res, transition);
  }

  private purchase(acc: Account, d: JsonObject, price: number): void {
    const allowed = this.available(acc) >= price;
    const id = str(d["id"], "resource.id");
    this.emit({
      event: "operation", account: acc.id, resource: id, operation: "purchase", allowed, rule: null,
      reason: allowed ? null : "insufficient available credit",
    });
    if (!allowed) return;
    const [cash, vouchers] = this.take(acc, price);
    this.create(acc, d, this.now);
    this.emit({ event: "payment", account: acc.id, resource: id, operation: "purchase", cash, vouchers });
    this.afterLedgerChange(acc);
  }

  // --- the protocol's verbs -------------------------------------------------------------
  apply(kind: string, e: JsonObject): void {
    if (!EVENTS.has(kind)) throw new Unsupported(`MaxCompute has no \`${kind}\` event`);
    try {
      const at = this.start + offsetSeconds(e["at"]);
      if (at < this.now) throw new Refused("events must come in time order");
      const bought = e["resource"];
      if (kind === "purchase") {
        if (typeof bought !== "object" || bought === null || Array.isArray(bought)) {
          throw new Refused("a purchase names its `resource`");
        }
        checkSupported(bought); // before anything moves
      }
      this.runAgenda(at, false); // events first at one instant
      this.now = Math.max(this.now, at);
      this.applyNow(kind, e);
    } catch (err) {
      if (err instanceof Refused) { // name the event, as the model does
        throw new Refused(`${kind} at ${String(e["at"])}: ${err.message}`);
      }
      throw err;
    }
    this.settleInstant();
  }

  private applyNow(kind: string, e: JsonObject): void {
    switch (kind) {
      case "charge": {
        const res = this.resource(e["resource"]);
        if (e["amount"] == null && (e["hours"] == null || res.hourlyPrice === null)) {
          throw new Refused("give `amount`, or `hours` with an hourly_price");
        }
        this.charge(res, e["amount"] != null ? num(e["amount"], "amount")
          : (res.hourlyPrice as number) * num(e["hours"], "hours"));
        return;
      }
      case "top_up":
      case "grant_voucher": {
        const acc = this.account(e["account"]);
        const amount = num(e["amount"], "amount");
        if (kind === "top_up") {
          acc.cash += amount;
          this.emit({ event: "top_up", account: acc.id, amount });
          this.settle(acc, "top-up");
        } else {
          acc.vouchers += amount;
          this.emit({ event: "voucher_granted", account: acc.id, amount });
        }
        this.afterLedgerChange(acc);
        return;
      }
      case "pay_now": {
        const acc = this.account(e["account"]);
        this.settle(acc, "pay-now");
        this.afterLedgerChange(acc);
        return;
      }
      case "purchase":
        this.purchase(this.account(e["account"]), e["resource"] as JsonObject, num(e["price"] ?? 0, "price"));
        return;
      case "renew":
        this.operate(this.resource(e["resource"]), "renew", num(e["price"], "price"), str(e["term"], "term"));
        return;
      default:
        this.operate(this.resource(e["resource"]), str(e["operation"], "operation"));
    }
  }

  observe(): [JsonObject, JsonObject[]] {
    const fee = [false, true].map((overdue) => this.offer.feeOperations(overdue));
    const accounts: JsonObject[] = [...this.accounts.values()].map((acc) => ({
      account: acc.id, cash: acc.cash, vouchers: acc.vouchers, available_credit: this.available(acc),
      overdue_since: formatInstant(acc.overdueSince),
      outstanding_bills: acc.bills.filter((b) => b.status !== "paid")
        .sort((a, b) => compare(a.settlement, b.settlement) || compare(a.id, b.id))
        .map((b) => ({
          bill: b.id, resource: b.resource.id, amount: b.amount, settlement_date: formatInstant(b.settlement),
          status: b.status, attempts: b.attempts, next_attempt: formatInstant(b.nextAttempt),
        })),
      fee_operations: fee[acc.overdueSince === null ? 0 : 1] as JsonObject[],
    }));
    const resources: JsonObject[] = [...this.resources.values()].map((res) => {
      const st = this.stateOf(res);
      return {
        resource: res.id, account: res.account.id, product: PRODUCT, lifecycle: this.lifecycle(res).id,
        state: res.state, since: formatInstant(res.since), serving: st.serving, data: st.data,
        billing: st.billing, billing_method: res.billing, // a MaxCompute instance keeps its own
        overdue_since: formatInstant(res.overdueSince), oldest_overdue_bill: formatInstant(this.oldestOverdueBill(res)),
        purchased_at: formatInstant(res.purchasedAt), expires_at: formatInstant(res.expiresAt),
        operations: Object.fromEntries(OPERATIONS.map((op) => [op, this.decide(res, op)[0]])),
      };
    });
    const events = this.log;
    this.log = [];
    return [{ at: formatInstant(this.now), accounts, resources }, events];
  }
}

/** The mapping of the protocol's requests to the engine. */
export class MaxComputeAdapter implements Adapter {
  readonly implementation = "arrears-maxcompute typescript adapter 0.1.0";
  readonly implements = { [PRODUCT]: ["subscription", "pay-as-you-go"] };
  private engine: Engine | null = null;

  load(start: number, accounts: JsonObject[], resources: JsonObject[], offer: Offer): void {
    this.engine = null;
    this.engine = new Engine(start, accounts, resources, offer);
  }

  apply(_at: number, kind: string, event: JsonObject): void {
    this.loaded().apply(kind, event);
  }

  advance(to: number): void {
    this.loaded().advance(to);
  }

  observe(): [JsonObject, JsonObject[]] {
    return this.loaded().observe();
  }

  private loaded(): Engine {
    if (this.engine === null) throw new Refused("no history is loaded");
    return this.engine;
  }
}
