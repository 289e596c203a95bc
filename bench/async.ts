/**
 * `npm run bench:async`: the async client (the store in a worker thread)
 * beside the synchronous store on the same file shape and driver, in one run:
 * a get and a set awaited one at a time (the round trip), 100 gets at once,
 * a transaction of 1,000 sets, and a setMany of 1,000. Interleaved rounds,
 * medians. Then how long this thread stops while 8 MiB of bytes go to the
 * worker and back: the longest gap between the ticks of a 5 ms interval,
 * less the 5 ms, per MiB (the target: under 10 ms per MiB). Runs on Node, Bun
 * and Deno (the runtime's built-in driver).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKv, openKvAsync } from "../mod.ts";
import type { Kv, KvAsync } from "../mod.ts";
import { median, rate, rateAsync, roundMedians, runtimeLabel } from "./measure.ts";

const proc = (globalThis as unknown as { process: { argv: string[]; versions: Record<string, string> } }).process;
const runtime = runtimeLabel();
const quick = proc.argv.includes("--quick");
const ROUNDS = quick ? 3 : 5;
const SLICE = quick ? 60 : 250;
const KEYS = 10_000;
const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-async-"));
const value = { name: "user", roles: ["reader"], n: 42 };

const sync: Kv = openKv(join(dir, "sync.db"));
const async: KvAsync = await openKvAsync(join(dir, "async.db"));
const fill = Array.from({ length: KEYS }, (_, i) => [`k${i}`, value] as [string, unknown]);
sync.setMany(fill);
await async.setMany(fill);
const batch = Array.from({ length: 1000 }, (_, i) => [`b${i}`, value] as [string, unknown]);

/** Each operation, once per store: how many calls one run makes, and the run. */
const ops: Record<string, { calls: number; sync: (i: number) => unknown; async: (i: number) => Promise<unknown> }> = {
  "get (awaited)": { calls: 1, sync: (i) => sync.get(`k${i % KEYS}`), async: (i) => async.get(`k${i % KEYS}`) },
  "set (awaited)": {
    calls: 1,
    sync: (i) => sync.set(`k${i % KEYS}`, value),
    async: (i) => async.set(`k${i % KEYS}`, value),
  },
  "100 gets at once": {
    calls: 100,
    sync: (i) => {
      for (let j = 0; j < 100; j++) sync.get(`k${(i * 100 + j) % KEYS}`);
    },
    async: (i) => Promise.all(Array.from({ length: 100 }, (_, j) => async.get(`k${(i * 100 + j) % KEYS}`))),
  },
  "transaction of 1,000 sets": {
    calls: 1000,
    sync: () =>
      sync.transaction((tx) => {
        for (const [k, v] of batch) tx.set(k, v);
      }),
    async: () => async.transaction((tx) => Promise.all(batch.map(([k, v]) => tx.set(k, v)))),
  },
  "setMany of 1,000": { calls: 1000, sync: () => sync.setMany(batch), async: () => async.setMany(batch) },
};

// Sync and async alternate, and which goes first alternates from round to round.
const rates: Record<string, Map<"sync" | "async", number>> = {};
for (const [op, run] of Object.entries(ops)) {
  rates[op] = await roundMedians(["sync", "async"] as const, ROUNDS, async (which) => {
    const perSecond = which === "sync"
      ? rate(run.sync, SLICE, { chunk: 1 })
      : await rateAsync(run.async, SLICE, { chunk: 1 });
    return perSecond * run.calls;
  });
}
/**
 * The longest pause of this thread's event loop while `call` runs, beyond
 * the 5 ms interval that measures it (the median of `ROUNDS` calls).
 */
async function pause(call: () => Promise<unknown>): Promise<number> {
  const pauses: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let last = performance.now();
    let longest = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    await new Promise((resolve) => setTimeout(resolve, 20));
    longest = 0;
    last = performance.now();
    await call();
    await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(timer);
    pauses.push(Math.max(0, longest - 5));
  }
  return median(pauses);
}
const MIB = 8;
const bytes = new Uint8Array(MIB << 20).fill(7);
const pauses = {
  set: await pause(() => async.set("bytes", bytes)),
  get: await pause(() => async.get("bytes")),
};

sync.close();
await async.close();
rmSync(dir, { recursive: true, force: true });

console.log(`### Async client${quick ? " (quick)" : ""}: ${runtime}, built-in driver, calls/s, medians\n`);
console.log("| operation | sync `Kv` | `openKvAsync` | async ÷ sync | µs per async call |");
console.log("| --- | ---: | ---: | ---: | ---: |");
const report: Record<string, { sync: number; async: number }> = {};
for (const [op, r] of Object.entries(rates)) {
  const s = r.get("sync")!, a = r.get("async")!;
  report[op] = { sync: s, async: a };
  const us = op.endsWith("(awaited)") ? (1e6 / a).toFixed(1) : "—";
  console.log(
    `| ${op} | ${Math.round(s).toLocaleString("en-US")} | ${Math.round(a).toLocaleString("en-US")} | ${
      (a / s).toFixed(2)
    } | ${us} |`,
  );
}
console.log(
  `\nThe calling thread's longest pause while ${MIB} MiB of bytes go to the worker: ${pauses.set.toFixed(1)} ms (${
    (pauses.set / MIB).toFixed(1)
  } ms per MiB); and back: ${pauses.get.toFixed(1)} ms (${(pauses.get / MIB).toFixed(1)} ms per MiB)\n`,
);
console.log(JSON.stringify({ runtime, report, pauseMsPerMiB: { set: pauses.set / MIB, get: pauses.get / MIB } }));
