/**
 * `npm run bench:denokv`: the Deno KV facade (`src/denokv/mod.ts`) beside
 * Deno KV itself and beside the core store it runs on, in one run, on the
 * runtime it runs on (the built-in driver):
 *
 * 1. the facade ÷ Deno KV: `Deno.openKv` on Deno (`--unstable-kv`), the npm
 *    build `@deno/kv` on Node (none on Bun); the facade once with its own
 *    defaults (WAL, synchronous=NORMAL, a 256 MiB map) and once with Deno KV's
 *    settings (WAL, synchronous=FULL: one fsync per commit, no map), and the
 *    targets speak of the second;
 * 2. the facade ÷ the core `Kv` with string keys, both with the defaults.
 *
 * Operations: get (a point read of a key that exists), set (overwrites one),
 * check+set (read the entry, then a commit that checks its versionstamp, or
 * `set` with `ifVersion` on the core), list 50 (a prefix that holds 50
 * entries), sum (`atomic().sum(key, 1n)`, or `incr` on the core) over 100
 * counters. Every subject runs each operation for a slice, in rotating rounds
 * after a warm-up round (`roundMedians`); promises are awaited one at a time,
 * the core is called as it is used, synchronously. Prints a Markdown table per
 * comparison, then every figure as one JSON line.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { openKv as openCore } from "../mod.ts";
import type { Kv as CoreKv } from "../mod.ts";
import { openKv as openFacade } from "../src/denokv/mod.ts";
import { rate, rateAsync, roundMedians, runtimeLabel } from "./measure.ts";

/** What the facade, `Deno.openKv` and `@deno/kv` share, as this file uses it. */
interface DenoApiKv {
  get(key: string[]): Promise<{ key: unknown; value: unknown; versionstamp: string | null }>;
  set(key: string[], value: unknown): Promise<unknown>;
  list(selector: { prefix: string[] }): AsyncIterable<{ key: unknown; value: unknown; versionstamp: string }>;
  atomic(): DenoApiAtomic;
  close(): void;
}
interface DenoApiAtomic {
  check(...checks: { key: unknown; versionstamp: string | null }[]): DenoApiAtomic;
  set(key: string[], value: unknown): DenoApiAtomic;
  sum(key: string[], n: bigint): DenoApiAtomic;
  commit(): Promise<{ ok: boolean }>;
}

const g = globalThis as {
  Bun?: { version: string };
  Deno?: { version: { deno: string }; openKv?: (path: string) => Promise<DenoApiKv> };
};
const runtime = runtimeLabel();
const quick = process.argv.includes("--quick");

const settings = { rounds: quick ? 3 : 5, slice: quick ? 40 : 250 };
/** 200 groups of 50 keys: a point key is one of the 10,000, a listing is one group. */
const GROUPS = 200;
const PER_GROUP = 50;
const KEYS = GROUPS * PER_GROUP;
const COUNTERS = 100;
const VALUE = "x".repeat(100);

/** Key number i, spread over the keys as bench/workload.ts spreads its point reads. */
const spread = (i: number) => (i * 7919) % KEYS;
const group = (n: number) => String(n).padStart(4, "0");
const item = (n: number) => String(n).padStart(2, "0");
/** Key number n as a tuple (facade, Deno KV) and as the core's string. */
const tupleKey = (n: number) => ["user", group(Math.floor(n / PER_GROUP)), item(n % PER_GROUP)];
const stringKey = (n: number) => `user:${group(Math.floor(n / PER_GROUP))}:${item(n % PER_GROUP)}`;

interface Subject {
  name: string;
  /** Calls return promises, awaited one at a time. */
  async: boolean;
  get(i: number): unknown;
  set(i: number): unknown;
  checkSet(i: number): unknown;
  list(i: number): unknown;
  sum(i: number): unknown;
  /** What a listing and a get give back, once, before anything is measured. */
  verify(): Promise<void>;
  close(): void;
}

/** A store with Deno KV's API: the facade, `Deno.openKv`, `@deno/kv`. */
function denoApiSubject(name: string, kv: DenoApiKv): Subject {
  const list = async (i: number) => {
    const out: unknown[] = [];
    for await (const e of kv.list({ prefix: ["user", group(i % GROUPS)] })) out.push(e);
    return out;
  };
  return {
    name,
    async: true,
    get: (i) => kv.get(tupleKey(spread(i))),
    set: (i) => kv.set(tupleKey(spread(i)), VALUE),
    async checkSet(i) {
      const key = tupleKey(spread(i));
      const entry = await kv.get(key);
      const result = await kv.atomic().check(entry).set(key, VALUE).commit();
      if (!result.ok) throw new Error(`${name}: a check failed with no other writer`);
    },
    list,
    sum: (i) => kv.atomic().sum(["counter", String(i % COUNTERS)], 1n).commit(),
    async verify() {
      const rows = await list(7);
      const entry = await kv.get(tupleKey(123));
      if (rows.length !== PER_GROUP || entry.value !== VALUE) throw new Error(`${name}: the data set is not in place`);
    },
    close: () => kv.close(),
  };
}

/** The core store, string keys. */
function coreSubject(kv: CoreKv): Subject {
  const list = (i: number) => {
    const out: unknown[] = [];
    for (const e of kv.list({ prefix: `user:${group(i % GROUPS)}:` })) out.push(e);
    return out;
  };
  return {
    name: "core Kv",
    async: false,
    get: (i) => kv.get(stringKey(spread(i))),
    set: (i) => kv.set(stringKey(spread(i)), VALUE),
    checkSet(i) {
      const key = stringKey(spread(i));
      const entry = kv.getEntry(key)!;
      if (!kv.set(key, VALUE, { ifVersion: entry.version })) {
        throw new Error("core Kv: ifVersion failed with no other writer");
      }
    },
    list,
    sum: (i) => kv.incr(`counter:${i % COUNTERS}`),
    verify() {
      if (list(7).length !== PER_GROUP || kv.get(stringKey(123)) !== VALUE) {
        return Promise.reject(new Error("core Kv: the data set is not in place"));
      }
      return Promise.resolve();
    },
    close: () => kv.close(),
  };
}

/** Writes the 10,000 keys: 1,000 per commit (Deno KV's most mutations in one). */
async function fillDenoApi(kv: DenoApiKv): Promise<void> {
  for (let i = 0; i < KEYS; i += 1000) {
    const op = kv.atomic();
    for (let n = i; n < i + 1000; n++) op.set(tupleKey(n), VALUE);
    if (!(await op.commit()).ok) throw new Error("fill failed");
  }
}

interface Peer {
  name: string;
  kv?: DenoApiKv;
  /** Why there is none on this runtime. */
  skipped?: string;
  /** Its journal and synchronous settings, as read from its source and checked with strace. */
  settings?: string;
}

/** Deno KV on this runtime: `Deno.openKv` on Deno, `@deno/kv` on Node, none on Bun. */
async function openPeer(dir: string): Promise<Peer> {
  const path = join(dir, "denokv-peer.sqlite3");
  if (g.Deno) {
    if (typeof g.Deno.openKv !== "function") return { name: "Deno KV", skipped: "run with --unstable-kv" };
    return { name: "Deno KV", kv: await g.Deno.openKv(path), settings: DENO_KV_SETTINGS };
  }
  if (g.Bun) {
    return { name: "Deno KV", skipped: "Deno KV runs on Deno, and its npm build @deno/kv is compared on Node" };
  }
  try {
    // Required as bench/node.ts requires lmdb: only Node loads it (its native build), and no other runtime resolves it.
    const { openKv } = createRequire(import.meta.url)("@deno/kv") as { openKv(path: string): Promise<DenoApiKv> };
    return { name: "@deno/kv", kv: await openKv(path), settings: DENO_KV_SETTINGS };
  } catch (error) {
    return { name: "@deno/kv", skipped: (error as Error).message.split("\n")[0]! };
  }
}

/**
 * What Deno KV's SQLite backend (denokv_sqlite, in both `Deno.openKv` and
 * `@deno/kv`) sets: `journal_mode=wal` and nothing else, so `synchronous` is
 * SQLite's compiled default, FULL (rusqlite's bundled build does not change
 * it): strace counts one fsync per commit, on both, as with the facade at
 * synchronous=FULL (none with NORMAL).
 */
const DENO_KV_SETTINGS = "WAL, synchronous=FULL (SQLite's default; one fsync per commit), no mmap";

const OPS = [
  { name: "get", run: (s: Subject, i: number) => s.get(i) },
  { name: "set", run: (s: Subject, i: number) => s.set(i) },
  { name: "check+set", run: (s: Subject, i: number) => s.checkSet(i) },
  { name: "list 50", run: (s: Subject, i: number) => s.list(i) },
  { name: "sum", run: (s: Subject, i: number) => s.sum(i) },
] as const;
type Op = (typeof OPS)[number]["name"];

/** Targets: the facade at Deno KV's settings ÷ Deno KV, and the facade ÷ the core. */
const PEER_TARGETS: Record<Op, number> = { "get": 3, "set": 3, "check+set": 2, "list 50": 2, "sum": 2 };
/** On Node, ÷ @deno/kv: 3 for every operation. */
const NODE_PEER_TARGET = 3;
const CORE_TARGET = 0.7;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-denokv-"));
  const subjects: Subject[] = [];
  try {
    const core = openCore(join(dir, "core.db"));
    core.setMany(Array.from({ length: KEYS }, (_, n) => [stringKey(n), VALUE] as const));
    subjects.push(coreSubject(core));
    const facade = await openFacade(join(dir, "facade.db"));
    await fillDenoApi(facade);
    subjects.push(denoApiSubject("facade", facade));
    const peer = await openPeer(dir);
    if (peer.kv) {
      // The facade with the settings Deno KV runs with: the same durability of a commit.
      const matched = await openFacade(join(dir, "facade-matched.db"), { synchronous: "full", mmapSize: 0 });
      await fillDenoApi(matched);
      subjects.push(denoApiSubject("facade, Deno KV's settings", matched));
      await fillDenoApi(peer.kv);
      subjects.push(denoApiSubject(peer.name, peer.kv));
    }
    for (const s of subjects) await s.verify();
    const rates = await measureAll(subjects);
    report(rates, peer);
  } finally {
    for (const s of subjects) s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every operation on every subject, in rotating rounds after a warm-up round of short slices; medians. */
async function measureAll(subjects: Subject[]): Promise<Record<Op, Record<string, number>>> {
  const out = {} as Record<Op, Record<string, number>>;
  for (const op of OPS) {
    const medians = await roundMedians(subjects, settings.rounds, async (s, round) => {
      const slice = round < 0 ? settings.slice / 4 : settings.slice;
      const from = (round + 1) * 1_000_003;
      const step = (i: number) => op.run(s, i);
      return s.async ? await rateAsync(step, slice, { from }) : rate(step, slice, { from });
    }, { warmup: true });
    out[op.name] = Object.fromEntries([...medians].map(([s, r]) => [s.name, r]));
  }
  return out;
}

function report(rates: Record<Op, Record<string, number>>, peer: Peer): void {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const head = (title: string) => console.log(`### ${title}${quick ? " (quick)" : ""}: ${runtime}, built-in driver\n`);
  const slices =
    `Medians of ${settings.rounds} rounds of ${settings.slice} ms per subject, interleaved in rotating order ` +
    `after a warm-up round; 10,000 keys of 100-byte string values, 50 per listed prefix, 100 counters.`;
  const ratios: Record<string, Record<Op, number>> = { "facade / core Kv": {} as Record<Op, number> };

  if (peer.kv) {
    const matched = "facade, Deno KV's settings";
    const targetOf = (op: Op) => (peer.name === "@deno/kv" ? NODE_PEER_TARGET : PEER_TARGETS[op]);
    ratios[`${matched} / ${peer.name}`] = {} as Record<Op, number>;
    ratios[`facade / ${peer.name}`] = {} as Record<Op, number>;
    head(`Deno KV facade ÷ ${peer.name}`);
    console.log(
      `| operation (ops/s) | facade | ${matched} | ${peer.name} | matched ÷ ${peer.name} | target | met | facade (defaults) ÷ ${peer.name} |`,
    );
    console.log(`| --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: |`);
    for (const { name: op } of OPS) {
      const r = rates[op];
      const m = r[matched]! / r[peer.name]!;
      const d = r["facade"]! / r[peer.name]!;
      ratios[`${matched} / ${peer.name}`]![op] = m;
      ratios[`facade / ${peer.name}`]![op] = d;
      console.log(
        `| ${op} | ${fmt(r["facade"]!)} | ${fmt(r[matched]!)} | ${fmt(r[peer.name]!)} | ${m.toFixed(2)} | >= ${
          targetOf(op)
        } | ${m >= targetOf(op) ? "yes" : "no"} | ${d.toFixed(2)} |`,
      );
    }
    console.log(
      `\n${peer.name}: ${peer.settings}. "${matched}": the facade opened with synchronous "full" and mmapSize 0, ` +
        `the same; "facade": its defaults (WAL, synchronous=NORMAL, 256 MiB map). All on files in one temp folder. ${slices}\n`,
    );
  } else {
    console.log(`${peer.name} skipped on ${runtime}: ${peer.skipped}\n`);
  }

  head("Deno KV facade ÷ core Kv (string keys)");
  console.log(`| operation (ops/s) | core Kv | facade | facade ÷ core | target | met |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | :---: |`);
  for (const { name: op } of OPS) {
    const r = rates[op];
    const ratio = r["facade"]! / r["core Kv"]!;
    ratios["facade / core Kv"]![op] = ratio;
    console.log(
      `| ${op} | ${fmt(r["core Kv"]!)} | ${fmt(r["facade"]!)} | ${ratio.toFixed(2)} | >= ${CORE_TARGET} | ${
        ratio >= CORE_TARGET ? "yes" : "no"
      } |`,
    );
  }
  console.log(
    `\nBoth with their defaults (WAL, synchronous=NORMAL) on files. Core: get, set, getEntry + set with ifVersion, ` +
      `list({ prefix }) iterated, incr; called synchronously. ${slices}\n`,
  );

  console.log(JSON.stringify({
    runtime,
    quick,
    settings: { ...settings, keys: KEYS, perPrefix: PER_GROUP, counters: COUNTERS },
    peer: peer.kv ? { name: peer.name, settings: peer.settings } : { name: peer.name, skipped: peer.skipped },
    rates,
    ratios,
  }));
}

await main();
