// The TypeScript adapter as arrears sees it: a process that answers one JSON
// line per request. Run with `npm test` (which compiles it first).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

const OFFER = [
  { product: "ecs", title: "ECS", billing: ["pay-as-you-go"], fee_operations_denied_while_overdue: true,
    operations: [{ id: "purchase", fee_incurring: true }, { id: "start", fee_incurring: false }] },
  { product: "maxcompute", title: "MaxCompute", billing: ["subscription", "pay-as-you-go"],
    fee_operations_denied_while_overdue: false,
    operations: [{ id: "renew", fee_incurring: true }, { id: "release", fee_incurring: false },
      { id: "run-task", fee_incurring: false }] },
];

/** Starts the adapter; `ask(line)` sends one line and resolves with the reply line. */
function start() {
  const child = spawn(process.execPath, [MAIN], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ask = async (line) => {
    child.stdin.write(`${line}\n`);
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`no reply to ${line} within 10 s`)), 10_000).unref());
    const { value, done } = await Promise.race([lines.next(), timeout]);
    assert.equal(done, false, `the adapter exited before answering ${line}`);
    return JSON.parse(value);
  };
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, ask, exited };
}

const request = (id, type, fields = {}) => JSON.stringify({ id, type, ...fields });

test("a pay-as-you-go instance left unpaid is overdue at T and locked 15 days later", async () => {
  const { ask, exited } = start();
  const hello = await ask(request(1, "hello", { protocol: "arrears-adapter/1", products: OFFER }));
  assert.deepEqual(hello, {
    id: 1, type: "hello", protocol: "arrears-adapter/1",
    implementation: "arrears-maxcompute typescript adapter 0.1.0",
    implements: [{ product: "maxcompute", billing: ["subscription", "pay-as-you-go"] }],
  });
  assert.deepEqual(await ask(request(2, "load", { history: {
    start: "2026-01-01T00:00:00Z", accounts: [{ id: "a-1", cash: 0 }],
    resources: [{ id: "m-1", account: "a-1", product: "maxcompute", kind: "instance", billing: "pay-as-you-go" }],
  } })), { id: 2, type: "ok" });
  assert.deepEqual(await ask(request(3, "apply", { at: "2026-01-02T00:00:00Z",
    event: { charge: { at: "+1d", resource: "m-1", amount: 600 } } })), { id: 3, type: "ok" });
  assert.deepEqual(await ask(request(4, "advance", { to: "2026-01-20T00:00:00Z" })), { id: 4, type: "ok" });
  const observed = await ask(request(5, "observe"));
  assert.equal(observed.type, "observation");
  const [account] = observed.observation.accounts;
  assert.equal(account.overdue_since, "2026-01-02T00:00:00Z");
  // From the offer: ECS refuses fee-incurring operations while overdue, MaxCompute does not.
  assert.deepEqual(account.fee_operations, [
    { product: "ecs", operation: "purchase", allowed: false },
    { product: "maxcompute", operation: "renew", allowed: true },
  ]);
  const [instance] = observed.observation.resources;
  assert.equal(instance.state, "locked");
  assert.equal(instance.since, "2026-01-17T00:00:00Z");
  assert.deepEqual(instance.operations, { release: true, renew: true, "run-task": false });
  assert.deepEqual(observed.events.map((e) => e.event),
    ["charge", "deduction", "notification", "transition", "transition"]);
  assert.deepEqual(await ask(request(6, "bye")), { id: 6, type: "ok" });
  assert.equal(await exited, 0);
});

test("malformed and unsupported requests get a reply each, and the adapter goes on", async () => {
  const { ask, child } = start();
  assert.match((await ask("not json")).message, /not JSON/);
  assert.deepEqual(await ask(request(2, "observe")), { id: 2, type: "error", message: "no history is loaded" });
  assert.deepEqual(await ask(request(3, "rewind")), { id: 3, type: "unsupported", reason: "unknown request `rewind`" });
  const ecs = await ask(request(4, "load", { history: { start: "2026-01-01T00:00:00Z", accounts: [{ id: "a-1" }],
    resources: [{ id: "i-1", account: "a-1", product: "ecs", kind: "instance", billing: "pay-as-you-go" }] } }));
  assert.equal(ecs.type, "unsupported");
  assert.match(ecs.reason, /only MaxCompute/);
  const bad = await ask(request(5, "advance", { to: "tomorrow" }));
  assert.equal(bad.type, "error");
  child.kill();
});

test("--version and --help answer without reading requests", () => {
  const version = spawnSync(process.execPath, [MAIN, "--version"], { encoding: "utf8" });
  assert.equal(version.status, 0);
  assert.match(version.stdout, /arrears-adapter\/1/);
  const wrong = spawnSync(process.execPath, [MAIN, "--bogus"], { encoding: "utf8" });
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /unknown argument `--bogus`/);
});
