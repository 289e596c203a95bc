/**
 * `npm run bench:cache [-- --quick]` (Node; `bun bench/cache.ts` for Bun): the
 * caching half measured beside its peers in one run, interleaved rounds,
 * medians. Prints a Markdown table of rates and the ratios issue targets
 * speak of, then one JSON line.
 *
 * - memoized hit from the file ÷ `kv.get` of the same key;
 * - memoized hit of a sync function with `memory` ÷ lmdb-js `get`;
 * - memoized hit of an async function with `memory` ÷ cacheable's `wrap` hit (awaited);
 * - memoized hit from the file (async, awaited) ÷ cacheable over only Keyv + `@keyv/sqlite`;
 * - `deleteMany({ tag })` of 100 keys among 1M tagged keys ÷ among 10k.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cacheable } from "cacheable";
import Keyv from "keyv";
import KeyvSqlite from "@keyv/sqlite";
import { LRUCache } from "lru-cache";
import { open as openLmdb } from "lmdb";
import { openKv } from "../mod.ts";
import { memoize } from "../src/cache.ts";
import { rate, rateAsync, roundMedians, runtimeLabel, timeEach } from "./measure.ts";

const proc = (globalThis as unknown as { process: { argv: string[] } }).process;
const quick = proc.argv.includes("--quick");
const runtime = runtimeLabel();
const KEYS = 1000;
const ROUNDS = quick ? 3 : 5;
const SLICE = quick ? 40 : 250;
const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-cache-"));
const record = (id: number) => ({ id, name: `user ${id}`, roles: ["reader"], score: id * 1.5 });

type Sync = (i: number) => unknown;
type Async = (i: number) => Promise<unknown>;

// ---- subjects ----------------------------------------------------------------

const kv = openKv(join(dir, "kv.db"));
for (let i = 0; i < KEYS; i++) kv.set(`user:${i}`, record(i));
const fetchUser = (id: number) => record(id);
const fetchUserAsync = (id: number) => Promise.resolve(record(id));

const fileSync = memoize(fetchUser, { kv, name: "fileSync" });
const memorySync = memoize(fetchUser, { kv, name: "memorySync", memory: { max: 2 * KEYS } });
const memoryAsync = memoize(async (id: number) => await fetchUserAsync(id), {
  kv,
  name: "memoryAsync",
  memory: { max: 2 * KEYS },
});
const fileAsync = memoize(async (id: number) => await fetchUserAsync(id), { kv, name: "fileAsync" });

const lmdb = openLmdb({ path: join(dir, "lmdb") });
for (let i = 0; i < KEYS; i++) lmdb.putSync(`user:${i}`, record(i));

const lru = new LRUCache<number, object>({ max: 2 * KEYS });
for (let i = 0; i < KEYS; i++) lru.set(i, record(i));

const cacheable = new Cacheable();
const wrapped = cacheable.wrap(fetchUserAsync, { keyPrefix: "user" }) as Async;
const sqliteOnly = new Cacheable({
  primary: new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${join(dir, "keyv.sqlite")}` }) }),
});
const wrappedSqlite = sqliteOnly.wrap(fetchUserAsync, { keyPrefix: "user" }) as Async;

for (let i = 0; i < KEYS; i++) {
  fileSync(i);
  memorySync(i);
  await memoryAsync(i);
  await fileAsync(i);
  await wrapped(i);
  await wrappedSqlite(i);
}

const syncSubjects: [string, Sync][] = [
  ["kv.get", (i) => kv.get(`user:${i}`)],
  ["memoize, file hit (sync)", fileSync],
  ["memoize, L1 hit (sync)", memorySync],
  ["lmdb-js get", (i) => lmdb.get(`user:${i}`)],
  ["lru-cache get", (i) => lru.get(i)],
];
const asyncSubjects: [string, Async][] = [
  ["memoize, L1 hit (async)", memoryAsync as Async],
  ["cacheable wrap hit (memory)", wrapped],
  ["memoize, file hit (async)", fileAsync as Async],
  ["cacheable wrap hit (Keyv + @keyv/sqlite only)", wrappedSqlite],
];

// Sync subjects look at the clock every 200 calls, async ones every 100 awaited calls.
const slices = new Map<string, () => number | Promise<number>>([
  ...syncSubjects.map(([name, fn]) => [name, () => rate((i) => fn(i % KEYS), SLICE, { chunk: 200 })] as const),
  ...asyncSubjects.map(([name, fn]) => [name, () => rateAsync((i) => fn(i % KEYS), SLICE, { chunk: 100 })] as const),
]);
const rates = await roundMedians([...slices.keys()], ROUNDS, (name) => slices.get(name)!());
const rateOf = (name: string) => rates.get(name)!;

// Every hit above was a hit: nothing was computed after the warm-up.
const computed = [fileSync, memorySync, memoryAsync, fileAsync].map((f) => f.stats().computes);
if (computed.some((c) => c !== KEYS)) throw new Error(`a memoized subject recomputed: ${computed}`);

// ---- deleteMany({ tag }) at two sizes ------------------------------------------

async function tagDeleteMs(size: number): Promise<number> {
  using store = openKv(join(dir, `tags-${size}.db`));
  const groups = size / 100;
  store.transaction(() => {
    for (let g = 0; g < groups; g++) {
      store.setMany(Array.from({ length: 100 }, (_, j) => [`k:${g}:${j}`, g] as [string, number]), {
        tags: [`g:${g}`],
      });
    }
  });
  // Each call, warm-up calls included, deletes another tag, spread over the store.
  let r = 0;
  const nextTag = () => `g:${Math.floor((r++ + 0.5) * groups / 10)}`;
  return await timeEach(nextTag, (tag) => {
    const n = store.deleteMany({ tag });
    if (n !== 100) throw new Error(`deleteMany({ tag }) deleted ${n}, not 100`);
  }, 7);
}
const small = await tagDeleteMs(10_000);
const large = await tagDeleteMs(quick ? 100_000 : 1_000_000);

// ---- report ---------------------------------------------------------------------

const ratios: [string, number, string][] = [
  ["memoize file hit ÷ kv.get", rateOf("memoize, file hit (sync)") / rateOf("kv.get"), ">= 0.8"],
  ["memoize L1 hit (sync) ÷ lmdb-js get", rateOf("memoize, L1 hit (sync)") / rateOf("lmdb-js get"), ">= 1.0"],
  [
    "memoize L1 hit (async) ÷ cacheable wrap hit",
    rateOf("memoize, L1 hit (async)") / rateOf("cacheable wrap hit (memory)"),
    ">= 2",
  ],
  [
    "memoize file hit (async) ÷ cacheable on Keyv + @keyv/sqlite",
    rateOf("memoize, file hit (async)") / rateOf("cacheable wrap hit (Keyv + @keyv/sqlite only)"),
    ">= 10",
  ],
  [`deleteMany({ tag }) of 100: ${quick ? "100k" : "1M"} ÷ 10k keys (time)`, large / small, "<= 2"],
];
console.log(`### ${runtime}${quick ? " (quick)" : ""}: ${KEYS} keys, medians of ${ROUNDS} rounds of ${SLICE} ms\n`);
console.log("| subject | ops/s |\n| --- | ---: |");
for (const [name] of [...syncSubjects, ...asyncSubjects]) {
  console.log(`| ${name} | ${Math.round(rateOf(name)).toLocaleString("en-US")} |`);
}
console.log(`| deleteMany({ tag }) of 100 among 10k | ${small.toFixed(3)} ms |`);
console.log(`| deleteMany({ tag }) of 100 among ${quick ? "100k" : "1M"} | ${large.toFixed(3)} ms |`);
console.log("\n| ratio | measured | target |\n| --- | ---: | --- |");
for (const [name, value, target] of ratios) console.log(`| ${name} | ${value.toFixed(2)} | ${target} |`);
console.log(
  JSON.stringify({ runtime, quick, rates: Object.fromEntries(rates), small, large }),
);

kv.close();
lmdb.close();
await sqliteOnly.disconnect();
rmSync(dir, { recursive: true, force: true });
