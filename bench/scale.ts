/**
 * Scale: the same operations at 10k keys and at a million (or more), the file
 * size per key, the memory a full list() takes, and purgeExpired's cost as a
 * function of expired keys rather than store size.
 */

import type { Kv } from "../src/kv.ts";
import { timeEach } from "./measure.ts";
import { kvSubject } from "./subjects.ts";
import { fill, key, runWorkload, type Subject, VALUE } from "./workload.ts";

export interface ScaleResult {
  keys: number;
  ops: { op: string; rates: Record<string, number> }[];
  bytesPerKey: number;
}

export interface ScaleReport {
  driver: string;
  sizes: ScaleResult[];
  listAll?: { keys: number; rssBeforeMiB: number; rssPeakMiB: number; growthMiB: number; seconds: number };
  purge?: { expired: number; small: number; large: number; smallMs: number; largeMs: number; ratio: number };
}

const rss = () => (globalThis as unknown as { process: { memoryUsage(): { rss: number } } }).process.memoryUsage().rss;
const MiB = 2 ** 20;

/** Runs the scale checks for one driver. */
export async function runScale(
  driver: string,
  openKv: (path: string, now?: () => number) => Kv,
  openRaw: (path: string) => Subject,
  dir: string,
  sizes: number[],
  options: { rounds: number; slice: number },
): Promise<ScaleReport> {
  const report: ScaleReport = { driver, sizes: [] };
  const only = ["get (hit)", "set (autocommit)", "set (batch of 1000)", "list 50 with values"];
  for (const size of sizes) {
    const kv = openKv(`${dir}/scale-kv-${size}.db`);
    const kvs = kvSubject("kvsqlite", driver, kv);
    const raw = openRaw(`${dir}/scale-raw-${size}.db`);
    await fill([kvs, raw], size);
    const ops = await runWorkload([kvs, raw], { keys: size, ...options, deletePool: 0, only });
    kv.checkpoint("truncate");
    const stats = kv.stats();
    report.sizes.push({ keys: size, ops, bytesPerKey: stats.fileBytes / stats.keys });
    if (size === sizes[sizes.length - 1]) {
      // Walk every entry lazily and keep none: memory must not follow the store.
      const before = rss();
      let peak = before;
      let n = 0;
      const start = performance.now();
      for (const entry of kv.list()) {
        if (entry.key.length > 0) n++;
        if ((n & 0x3fff) === 0) peak = Math.max(peak, rss());
      }
      peak = Math.max(peak, rss());
      report.listAll = {
        keys: n,
        rssBeforeMiB: before / MiB,
        rssPeakMiB: peak / MiB,
        growthMiB: (peak - before) / MiB,
        seconds: (performance.now() - start) / 1000,
      };
    }
    kv.close();
    raw.close();
  }
  report.purge = await purgeScaling(openKv, dir, sizes[0]!, sizes[sizes.length - 1]!);
  return report;
}

/** purgeExpired of the same number of expired keys in a small and in a large store. */
async function purgeScaling(
  openKv: (path: string, now?: () => number) => Kv,
  dir: string,
  small: number,
  large: number,
): Promise<ScaleReport["purge"]> {
  const expired = small;
  const time = async (total: number): Promise<number> => {
    let t = 1_700_000_000_000;
    const kv = openKv(`${dir}/purge-${total}.db`, () => t);
    const live = total - expired;
    for (let i = 0; i < live; i += 1000) {
      kv.setMany(
        Array.from({ length: Math.min(1000, live - i) }, (_, j): [string, string] => [key(i + j, total), VALUE]),
      );
    }
    let r = 0;
    // Before each purge, untimed: the keys that expire, then a truncating
    // checkpoint, so that both stores start from the same WAL state: whatever
    // was written is in the file, so the time is the purge's own and not a
    // checkpoint's.
    const prepare = () => {
      for (let i = 0; i < expired; i += 1000) {
        kv.setMany(Array.from({ length: 1000 }, (_, j): [string, string] => [`exp:${r}:${i + j}`, VALUE]), {
          ttl: 1000,
        });
      }
      r++;
      t += 1000;
      kv.checkpoint("truncate");
    };
    const purge = () => {
      const n = kv.purgeExpired();
      if (n !== expired) throw new Error(`purged ${n}, expected ${expired}`);
    };
    const ms = await timeEach(prepare, purge, 7);
    kv.close();
    return ms;
  };
  const smallMs = await time(small);
  const largeMs = await time(large);
  return { expired, small, large, smallMs, largeMs, ratio: largeMs / smallMs };
}
