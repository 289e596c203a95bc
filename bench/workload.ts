/**
 * The benchmark workload: the same operations on kvsqlite and on the raw
 * driver's prepared statements (same file settings, same table shape), run
 * interleaved in one process so that machine drift cancels out.
 */

import type { Kv } from "../src/kv.ts";

/** What the raw driver side must do; each runner writes it with the driver's own API. */
export interface RawStore {
  get(key: string): unknown;
  set(key: string, value: string): void;
  setMany(entries: [string, string][]): void;
  has(key: string): boolean;
  delete(key: string): void;
  listPrefix(prefix: string, limit: number): [string, unknown][];
}

/** The pragmas both sides run with. */
export const PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;";

/** The table both sides use: kvsqlite's own shape. */
export const TABLE_SQL = `CREATE TABLE IF NOT EXISTS kv (
  k TEXT PRIMARY KEY NOT NULL, v BLOB, kind INTEGER NOT NULL DEFAULT 0,
  expire_time INTEGER, version INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`;

/** Raw SQL for the operations, as a user of the bare driver would write them. */
export const RAW_SQL = {
  get: "SELECT v FROM kv WHERE k = ?",
  set: "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)",
  has: "SELECT 1 FROM kv WHERE k = ?",
  delete: "DELETE FROM kv WHERE k = ?",
  list: "SELECT k, v FROM kv WHERE k >= ? AND k < ? ORDER BY k LIMIT ?",
};

export interface Result {
  op: string;
  kvsqlite: number;
  raw: number;
  ratio: number;
}

const KEYS = 10_000;
const key = (i: number) => `user:${String(i % KEYS).padStart(6, "0")}`;
const VALUE = "x".repeat(100);

function opsPerSecond(n: number, fn: (i: number) => void): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return n / ((performance.now() - start) / 1000);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs every operation for `rounds` rounds, alternating which side goes first. */
export function runWorkload(kv: Kv, raw: RawStore, rounds: number, scale: number): Result[] {
  const entries: [string, string][] = Array.from({ length: KEYS }, (_, i) => [key(i), VALUE]);
  kv.setMany(entries);
  raw.setMany(entries);
  let counter = 0;
  const ops: [string, number, (i: number) => void, (i: number) => void][] = [
    ["get", 200_000 * scale, (i) => kv.get(key(i * 7)), (i) => raw.get(key(i * 7))],
    ["has", 200_000 * scale, (i) => kv.has(key(i * 7)), (i) => raw.has(key(i * 7))],
    ["set (autocommit)", 5_000 * scale, (i) => kv.set(key(i), VALUE), (i) => raw.set(key(i), VALUE)],
    [
      "set (1000 in one transaction)",
      Math.max(10, 40 * scale),
      (i) => kv.setMany(entries.slice((i % 10) * 1000, (i % 10) * 1000 + 1000)),
      (i) => raw.setMany(entries.slice((i % 10) * 1000, (i % 10) * 1000 + 1000)),
    ],
    ["delete + set back (autocommit)", 2_500 * scale, (i) => {
      kv.delete(key(i));
      kv.set(key(i), VALUE);
    }, (i) => {
      raw.delete(key(i));
      raw.set(key(i), VALUE);
    }],
    [
      "prefix list, 50 entries",
      10_000 * scale,
      (i) => kv.entries({ prefix: `user:00${String(i % 100).padStart(2, "0")}` }, { limit: 50 }),
      (i) => raw.listPrefix(`user:00${String(i % 100).padStart(2, "0")}`, 50),
    ],
  ];
  const results: Result[] = [];
  for (const [op, n, kvFn, rawFn] of ops) {
    const count = Math.max(1, Math.round(n));
    const kvRates: number[] = [];
    const rawRates: number[] = [];
    opsPerSecond(Math.ceil(count / 10), kvFn);
    opsPerSecond(Math.ceil(count / 10), rawFn);
    for (let r = 0; r < rounds; r++) {
      counter++;
      if (counter % 2 === 0) {
        kvRates.push(opsPerSecond(count, kvFn));
        rawRates.push(opsPerSecond(count, rawFn));
      } else {
        rawRates.push(opsPerSecond(count, rawFn));
        kvRates.push(opsPerSecond(count, kvFn));
      }
    }
    const k = median(kvRates);
    const w = median(rawRates);
    const multiplier = op.startsWith("set (1000") ? 1000 : 1;
    results.push({ op, kvsqlite: k * multiplier, raw: w * multiplier, ratio: k / w });
  }
  return results;
}
