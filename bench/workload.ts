/**
 * The benchmark workload. Every subject (kvsqlite, the raw driver, a peer)
 * gets the same operations on the same data; subjects run interleaved, in a
 * rotating order, for a fixed time each, and the median of the rounds counts.
 */

import { rate, rateAsync, roundMedians } from "./measure.ts";

/** What a subject can do; a missing method means "not offered by this store". */
export interface Subject {
  name: string;
  /** Role in the tables: kvsqlite itself, the raw driver it runs on, or a peer. */
  role: "kvsqlite" | "raw" | "peer";
  /** The driver, so that kvsqlite is compared with the raw side of the same driver. */
  driver: string;
  /** Methods return promises. */
  async?: boolean;
  get(key: string): unknown;
  set(key: string, value: string): unknown;
  setBatch(entries: [string, string][]): unknown;
  has?(key: string): unknown;
  delete(key: string): unknown;
  getMany?(keys: string[]): unknown;
  list?(start: string, end: string, limit: number): unknown;
  keys?(start: string, end: string, limit: number): unknown;
  count?(start: string, end: string): unknown;
  incr?(key: string): unknown;
  /** Runs `fn` in one transaction (sync subjects of SQLite only). */
  transaction?(fn: () => void): unknown;
  close(): unknown;
}

export interface OpResult {
  op: string;
  /** ops/s by subject name (median of rounds); keys per second for batches. */
  rates: Record<string, number>;
}

export interface WorkloadOptions {
  keys: number;
  rounds: number;
  /** Time per measurement, ms. */
  slice: number;
  /** Keys written before each delete measurement (it stops early when they run out). */
  deletePool: number;
  /** Run only these operations. */
  only?: string[];
}

export const VALUE = "x".repeat(100);
const mod = (i: number, m: number): number => ((i % m) + m) % m;
export const key = (i: number, keys: number): string => `user:${String(mod(i, keys)).padStart(7, "0")}`;

/** The 50-key window starting at key number i. */
export function window(i: number, keys: number): [string, string] {
  const start = mod(i * 53, Math.max(1, keys - 50));
  return [key(start, keys), key(start + 50, keys)];
}

type Step = (s: Subject, i: number) => unknown;

interface Op {
  name: string;
  /** Units per call (keys in a batch). */
  units: number;
  step: Step;
  needs?: keyof Subject;
  /** Untimed work before each measurement, for `count` steps. */
  before?: (s: Subject, from: number, count: number) => unknown;
  /** The steps `before` prepares for (by default `deletePool`). */
  pool?: number;
}

/** Writes the data set into every subject. */
export async function fill(subjects: Subject[], keys: number): Promise<void> {
  for (const s of subjects) {
    for (let i = 0; i < keys; i += 1000) {
      const batch: [string, string][] = [];
      for (let j = i; j < Math.min(keys, i + 1000); j++) batch.push([key(j, keys), VALUE]);
      await s.setBatch(batch);
    }
  }
}

/** Runs the operations on every subject that offers them. */
export async function runWorkload(subjects: Subject[], options: WorkloadOptions): Promise<OpResult[]> {
  const { keys } = options;
  const k = (i: number) => key((i * 7919) % keys, keys);
  const batches = new Map<number, [string, string][]>();
  const batch = (i: number): [string, string][] => {
    const b = i % 10;
    let entries = batches.get(b);
    if (!entries) {
      entries = Array.from({ length: 1000 }, (_, j) => [key((b * 1000 + j) % keys, keys), VALUE]);
      batches.set(b, entries);
    }
    return entries;
  };
  const many = (i: number) => Array.from({ length: 100 }, (_, j) => k(i * 100 + j));
  let deleteBase = 0;
  const ops: Op[] = [
    { name: "get (hit)", units: 1, step: (s, i) => s.get(k(i)) },
    { name: "get (miss)", units: 1, step: (s, i) => s.get(`missing:${i % 100000}`) },
    { name: "has", units: 1, step: (s, i) => s.has!(k(i)), needs: "has" },
    { name: "set (autocommit)", units: 1, step: (s, i) => s.set(k(i), VALUE) },
    { name: "set (batch of 1000)", units: 1000, step: (s, i) => s.setBatch(batch(i)) },
    {
      name: "delete",
      units: 1,
      // Deletes keys that exist: each measurement gets fresh ones, written before it.
      before: async (s, from, count) => {
        for (let i = from; i < from + count; i += 1000) {
          const b: [string, string][] = [];
          for (let j = i; j < Math.min(from + count, i + 1000); j++) b.push([`del:${j}`, VALUE]);
          await s.setBatch(b);
        }
      },
      step: (s, i) => s.delete(`del:${deleteBase + i}`),
    },
    { name: "getMany (100)", units: 1, step: (s, i) => s.getMany!(many(i)), needs: "getMany" },
    { name: "list 50 with values", units: 1, step: (s, i) => s.list!(...window(i, keys), 50), needs: "list" },
    { name: "list 50 keys only", units: 1, step: (s, i) => s.keys!(...window(i, keys), 50), needs: "keys" },
    { name: "count of a 50-key range", units: 1, step: (s, i) => s.count!(...window(i, keys)), needs: "count" },
    { name: "incr", units: 1, step: (s, i) => s.incr!(`counter:${i % 100}`), needs: "incr" },
    // The statements without a commit each: 100 in one transaction, counted per statement.
    {
      name: "incr (100 in a transaction)",
      units: 100,
      step: (s, i) =>
        s.transaction!(() => {
          for (let j = 0; j < 100; j++) s.incr!(`counter:${(i + j) % 100}`);
        }),
      needs: "transaction",
    },
    {
      name: "delete (100 in a transaction)",
      units: 100,
      pool: Math.ceil(options.deletePool / 20),
      before: async (s, from, count) => {
        for (let i = from; i < from + count * 100; i += 1000) {
          const b: [string, string][] = [];
          for (let j = i; j < Math.min(from + count * 100, i + 1000); j++) b.push([`del:${j}`, VALUE]);
          await s.setBatch(b);
        }
      },
      step: (s, i) =>
        s.transaction!(() => {
          for (let j = 0; j < 100; j++) s.delete(`del:${deleteBase + i * 100 + j}`);
        }),
      needs: "transaction",
    },
  ];
  const results: OpResult[] = [];
  for (const op of ops) {
    if (options.only && !options.only.includes(op.name)) continue;
    const able = subjects.filter((s) => op.needs === undefined || typeof s[op.needs] === "function");
    // A warm-up round, then rounds in rotating order so that drift hits everyone alike.
    const medians = await roundMedians(able, options.rounds, async (s, round) => {
      const slice = round < 0 ? options.slice / 4 : options.slice;
      let limit = Infinity;
      if (op.before) {
        deleteBase += 10_000_000;
        const pool = op.pool ?? options.deletePool;
        limit = pool - 16;
        await op.before(s, deleteBase, pool);
      }
      const from = op.before ? 0 : (round + 1) * 1_000_003;
      const step = (i: number) => op.step(s, i);
      return (s.async ? await rateAsync(step, slice, { from, limit }) : rate(step, slice, { from, limit })) * op.units;
    }, { warmup: true });
    results.push({ op: op.name, rates: Object.fromEntries([...medians].map(([s, rate]) => [s.name, rate])) });
  }
  return results;
}
