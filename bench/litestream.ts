/**
 * `npm run bench:litestream`: what Litestream (npm's 0.3.13 binary) costs and
 * keeps up with beside a kvsqlite file, on the runtime it runs on:
 *
 * 1. restore time of a store of 100,000 keys after W writes (W = 1,000 and
 *    120,000) reached the replica as WAL, median of 3 (the target: under 3 s);
 * 2. how far Litestream falls behind a writer at full speed (autocommit sets,
 *    this process): the writes the replica lacks when writer and Litestream are
 *    killed together, and the ms of writing they stand for;
 * 3. `set` ops/s with Litestream replicating the file ÷ without, in rotating
 *    rounds in one run (what its read lock and checkpoints cost the writer).
 *
 * Intervals at 100 ms, a `file://` replica in a temp folder. Absolute times
 * are Litestream's own (its restore); the writer's cost is a ratio.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { openKv } from "../mod.ts";
import { rotate, runtimeLabel } from "./measure.ts";
// The test suite's Litestream helpers: the binary, its first snapshot, stopping a process by its handle.
import { hasSnapshot, LITESTREAM, stop, wait } from "../tests/suite/litestream.ts";
import { until } from "../tests/suite/process.ts";

const runtime = runtimeLabel();
const quick = process.argv.includes("--quick");

/** A folder with a store of 100,000 keys, and Litestream replicating it once its first snapshot is written. */
async function replicated(): Promise<{ dir: string; db: string; replica: string; litestream: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), "kvsqlite-litestream-"));
  const db = join(dir, "app.db");
  const replica = join(dir, "replica");
  {
    using kv = openKv(db);
    kv.setMany(Array.from({ length: 100_000 }, (_, i) => [`k:${i}`, i] as [string, number]));
  }
  const config = join(dir, "litestream.yml");
  writeFileSync(
    config,
    `dbs:\n  - path: ${db}\n    monitor-interval: 100ms\n    replicas:\n      - url: file://${replica}\n        sync-interval: 100ms\n`,
  );
  const litestream = spawn(LITESTREAM, ["replicate", "-config", config], { stdio: "ignore" });
  await until(() => hasSnapshot(replica), "the first snapshot");
  return { dir, db, replica, litestream };
}

async function restore(replica: string, out: string): Promise<number> {
  const started = performance.now();
  const child = spawn(LITESTREAM, ["restore", "-o", out, `file://${replica}`], { stdio: "ignore" });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`restore exited with ${code}`);
  return performance.now() - started;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Part 1: restore time after `writes` writes went through the WAL (Litestream
 * stopped cleanly first), and whether the restored file is sound and whole.
 * A restore that is not keeps its folder and says where.
 */
async function restoreTime(writes: number): Promise<{ ms: number; sound: string }> {
  const r = await replicated();
  let keep = false;
  try {
    {
      using kv = openKv(r.db);
      for (let i = 0; i < writes; i++) kv.set(`w:${i}`, i);
    }
    await wait(1_000);
    await stop(r.litestream, "SIGTERM");
    const ms = await restore(r.replica, join(r.dir, "restored.db"));
    let sound = "sound";
    try {
      using restored = openKv(join(r.dir, "restored.db"), { readOnly: true });
      restored.integrityCheck();
      const have = restored.count({ prefix: "w:" });
      if (have !== writes) sound = `${have} of ${writes} writes`;
    } catch (error) {
      sound = `${(error as Error).message} (kept: ${r.dir})`;
    }
    keep = sound !== "sound";
    return { ms, sound };
  } finally {
    await stop(r.litestream, "SIGKILL");
    if (!keep) rmSync(r.dir, { recursive: true, force: true });
  }
}

/** Part 2: writes at full speed for `ms`, then writer (this store) and Litestream stop at once; what the replica lacks. */
async function lag(ms: number): Promise<{ written: number; lacked: number; lackedMs: number }> {
  const r = await replicated();
  try {
    const times: number[] = [];
    {
      using kv = openKv(r.db);
      const end = Date.now() + ms;
      let i = 0;
      while (Date.now() < end) {
        for (let j = 0; j < 100; j++, i++) kv.set(`w:${i}`, i);
        times.push(Date.now());
        await new Promise((resolve) => setImmediate(resolve)); // Litestream's process needs no turn of ours, but be fair
      }
      r.litestream.kill("SIGKILL"); // the machine: nothing more is shipped
      await stop(r.litestream, "SIGKILL");
      const written = i;
      const out = join(r.dir, "restored.db");
      await restore(r.replica, out);
      using restored = openKv(out);
      const have = restored.count({ prefix: "w:" });
      const lacked = written - have;
      // The writes are in order (the restore is a prefix of them): the first lacking one's batch time.
      const firstLacking = times[Math.floor(have / 100)] ?? times.at(-1)!;
      return { written, lacked, lackedMs: lacked === 0 ? 0 : times.at(-1)! - firstLacking };
    }
  } finally {
    await stop(r.litestream, "SIGKILL");
    rmSync(r.dir, { recursive: true, force: true });
  }
}

/** Part 3: set ops/s with Litestream replicating the file ÷ the same file without it, in rotating rounds. */
async function writerCost(rounds: number, sliceMs: number): Promise<number[]> {
  const rates = new Map<number, Record<string, number>>();
  await rotate(["with", "without"], rounds, async (subject, round) => {
    const r = await replicated();
    try {
      if (subject === "without") await stop(r.litestream, "SIGTERM");
      using kv = openKv(r.db);
      let n = 0;
      const started = performance.now();
      while (performance.now() - started < sliceMs) {
        for (let j = 0; j < 100; j++, n++) kv.set(`w:${n}`, n);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const round_ = rates.get(round) ?? {};
      round_[subject] = n / ((performance.now() - started) / 1000);
      rates.set(round, round_);
    } finally {
      await stop(r.litestream, "SIGKILL");
      rmSync(r.dir, { recursive: true, force: true });
    }
  });
  return [...rates.values()].map((r) => r.with! / r.without!);
}

if (process.platform !== "linux" || process.arch !== "x64" || !existsSync(LITESTREAM)) {
  console.log(`bench:litestream skipped: needs ${LITESTREAM} on Linux x64 (npm ci installs it there)`);
} else {
  const n = quick ? 1 : Number(process.env.KVSQLITE_RESTORES ?? 3);
  console.log(`## Litestream beside kvsqlite (${runtime}, Litestream 0.3.13, intervals 100 ms, file:// replica)\n`);
  console.log("| part | figure |");
  console.log("| --- | --- |");
  for (const writes of quick ? [1_000] : [1_000, 120_000]) {
    const runs: { ms: number; sound: string }[] = [];
    for (let i = 0; i < n; i++) runs.push(await restoreTime(writes));
    const unsound = runs.filter((r) => r.sound !== "sound").map((r) => r.sound);
    console.log(
      `| restore: 100,000 keys + ${writes.toLocaleString("en-US")} writes in the WAL | median ${
        median(runs.map((r) => r.ms)).toFixed(0)
      } ms (${runs.map((r) => r.ms.toFixed(0)).join(", ")}; target < 3,000); ${
        runs.length - unsound.length
      } of ${runs.length} restores sound and whole${unsound.length ? `: ${unsound.join("; ")}` : ""} |`,
    );
  }
  for (let i = 0; i < n; i++) {
    const l = await lag(quick ? 1_000 : 3_000);
    console.log(
      `| full-speed writer and Litestream killed together | ${l.lacked.toLocaleString("en-US")} of ${
        l.written.toLocaleString("en-US")
      } writes not in the replica (the last ${l.lackedMs} ms of writing) |`,
    );
  }
  const ratios = await writerCost(quick ? 1 : 5, quick ? 300 : 1_000);
  console.log(`| set ops/s, replicated ÷ not | ${ratios.map((r) => r.toFixed(2)).join(", ")} |`);
}
