// The adapter protocol (arrears-adapter/1) from the adapter's side, in
// TypeScript for Node with no run-time dependencies: read one JSON request per
// line, dispatch it to an Adapter, write one JSON reply per line.
//
// Every request gets exactly one reply: a malformed line gets `error`, an
// unknown request type `unsupported`, and an exception thrown by a handler
// becomes a reply (Unsupported -> `unsupported`, anything else -> `error`)
// instead of a crash. Instants are whole Unix seconds; see docs/protocol.md.

import * as readline from "node:readline";

export const PROTOCOL = "arrears-adapter/1";
export const DAY = 86_400;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The request needs something the adapter does not implement: the history is skipped. */
export class Unsupported extends Error {}

/** The request cannot be carried out: the history fails. */
export class Refused extends Error {}

export interface OperationOffer {
  id: string;
  fee_incurring: boolean;
}

export interface ProductOffer {
  product: string;
  billing: string[];
  operations: OperationOffer[];
  fee_operations_denied_while_overdue: boolean;
}

/** What the specs cover, as the hello request offers it. */
export class Offer {
  constructor(readonly products: ProductOffer[] = []) {}

  /** An account's fee_operations: every fee-incurring operation of every product,
   * refused while the account is overdue where that product's document refuses them. */
  feeOperations(overdue: boolean): JsonObject[] {
    return this.products.flatMap((p) =>
      p.operations
        .filter((op) => op.fee_incurring)
        .map((op) => ({
          product: p.product,
          operation: op.id,
          allowed: !(overdue && p.fee_operations_denied_while_overdue),
        })),
    );
  }
}

/** What an adapter maps to its engine. Instants are Unix seconds. */
export interface Adapter {
  readonly implementation: string;
  /** Product id -> the billing methods implemented. */
  readonly implements: Record<string, string[]>;
  load(start: number, accounts: JsonObject[], resources: JsonObject[], offer: Offer): void;
  apply(at: number, kind: string, event: JsonObject): void;
  advance(to: number): void;
  /** The observation now, and the events since the last observe (or load). */
  observe(): [JsonObject, JsonObject[]];
}

// --- instants -------------------------------------------------------------------

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseInstant(text: unknown): number {
  if (typeof text !== "string" || !RFC3339.test(text) || Number.isNaN(Date.parse(text))) {
    throw new Refused(`${JSON.stringify(text)} is not an RFC 3339 instant`);
  }
  return Math.floor(Date.parse(text) / 1000);
}

export function formatInstant(t: number | null): string | null {
  return t === null ? null : new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `+15d`, `-2d`, `1d12h`, `30s` -> seconds. */
export function offsetSeconds(text: unknown): number {
  const m = typeof text === "string"
    ? /^([+-]?)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim())
    : null;
  if (!m || m.slice(2).every((g) => g === undefined)) {
    throw new Refused(`\`${String(text)}\` is not a duration such as \`+1d\` or \`1d12h\``);
  }
  const [d, h, mi, s] = m.slice(2).map((g) => Number(g ?? 0)) as [number, number, number, number];
  return (m[1] === "-" ? -1 : 1) * (d * DAY + h * 3600 + mi * 60 + s);
}

/** When a term starting at `start` ends: a fixed length (`30d`) later, or calendar
 * months (`1mo`, `1y6mo`) later, the same day clamped to a shorter month's end. */
export function termEnd(start: number, term: string): number {
  const m = /^(?:(\d+)y)?(?:(\d+)mo)?$/.exec(term.trim());
  if (!m || (m[1] === undefined && m[2] === undefined)) {
    return start + offsetSeconds(term);
  }
  const months = Number(m[1] ?? 0) * 12 + Number(m[2] ?? 0);
  const t = new Date(start * 1000);
  const total = t.getUTCMonth() + months;
  const year = t.getUTCFullYear() + Math.floor(total / 12);
  const month = total % 12;
  if (year > 9999) {
    throw new Refused(`the term \`${term}\` ends past the calendar`);
  }
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const end = Date.UTC(year, month, Math.min(t.getUTCDate(), lastDay), t.getUTCHours(),
    t.getUTCMinutes(), t.getUTCSeconds());
  return Math.floor(end / 1000);
}

// --- requests and replies --------------------------------------------------------

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function objects(v: unknown, what: string): JsonObject[] {
  if (!Array.isArray(v) || !v.every(isObject)) {
    throw new Refused(`\`${what}\` must be an array of objects`);
  }
  return v;
}

function offerOf(products: unknown): Offer {
  if (products === undefined) return new Offer();
  return new Offer(objects(products, "products").map((p) => ({
    product: String(p["product"]),
    billing: Array.isArray(p["billing"]) ? p["billing"].map(String) : [],
    operations: Array.isArray(p["operations"])
      ? p["operations"].filter(isObject).map((o) => ({
        id: String(o["id"]),
        fee_incurring: o["fee_incurring"] === true,
      }))
      : [],
    fee_operations_denied_while_overdue: p["fee_operations_denied_while_overdue"] === true,
  })));
}

/** One conversation with arrears: remembers the offer and whether a history is loaded. */
export class Session {
  offer = new Offer();
  loaded = false;
  finished = false;

  constructor(readonly adapter: Adapter) {}

  /** The reply to one line (with its id). Never throws. */
  answer(line: string): JsonObject {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch (e) {
      return { id: 0, type: "error", message: `failed to read the request: it is not JSON (${(e as Error).message})` };
    }
    if (!isObject(request)) {
      return { id: 0, type: "error", message: "failed to read the request: it is not a JSON object" };
    }
    const id = request["id"];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
      return { id: 0, type: "error", message: `failed to read the request: \`id\` must be a whole number, not ${JSON.stringify(id)}` };
    }
    try {
      return { id, ...this.dispatch(request) };
    } catch (e) {
      if (e instanceof Unsupported) return { id, type: "unsupported", reason: e.message };
      if (e instanceof Refused) return { id, type: "error", message: e.message };
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      return { id, type: "error", message: `${(e as Error).name}: ${(e as Error).message}` };
    }
  }

  private dispatch(request: JsonObject): JsonObject {
    const a = this.adapter;
    switch (request["type"]) {
      case "hello":
        this.offer = offerOf(request["products"]);
        return {
          type: "hello",
          protocol: PROTOCOL,
          implementation: a.implementation,
          implements: Object.entries(a.implements).map(([product, billing]) => ({ product, billing })),
        };
      case "bye":
        this.finished = true;
        return { type: "ok" };
      case "load": {
        const history = request["history"];
        if (!isObject(history)) throw new Refused("`history` must be an object");
        this.loaded = false;
        a.load(parseInstant(history["start"]), objects(history["accounts"], "accounts"),
          history["resources"] === undefined ? [] : objects(history["resources"], "resources"),
          this.offer);
        this.loaded = true;
        return { type: "ok" };
      }
      case "apply":
      case "advance":
      case "observe":
        break;
      default:
        throw new Unsupported(`unknown request \`${String(request["type"])}\``);
    }
    if (!this.loaded) throw new Refused("no history is loaded");
    if (request["type"] === "apply") {
      const event = request["event"];
      const entries = isObject(event) ? Object.entries(event) : [];
      const [entry] = entries;
      if (entries.length !== 1 || entry === undefined || !isObject(entry[1])) {
        throw new Refused("`event` must be a one-key object such as {\"charge\": {...}}");
      }
      a.apply(parseInstant(request["at"]), entry[0], entry[1]);
      return { type: "ok" };
    }
    if (request["type"] === "advance") {
      a.advance(parseInstant(request["to"]));
      return { type: "ok" };
    }
    const [observation, events] = a.observe();
    return { type: "observation", observation, events };
  }
}

/** Answers requests from standard input until bye or its end, one flushed line each. */
export async function serve(adapter: Adapter): Promise<void> {
  const session = new Session(adapter);
  // arrears went away (a closed pipe): nothing more to say.
  process.stdout.on("error", () => process.exit(0));
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    // On Linux a write to a pipe is synchronous: the reply is out before the
    // next request is read.
    process.stdout.write(`${JSON.stringify(session.answer(line))}\n`);
    if (session.finished) break;
  }
  lines.close();
}
