import { assert } from "../assert.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Target, TestFn } from "../harness.ts";
import { currentRuntime, onLines, until } from "./process.ts";
import { crashKills } from "./crash.ts";
import { tempDir } from "../util.ts";
import { run } from "../../src/cli.ts";

const WORKER = fileURLToPath(new URL("../fixtures/worker.ts", import.meta.url));
/** The Litestream binary npm installs. */
export const LITESTREAM = fileURLToPath(
  new URL("../../node_modules/@flydotio/litestream-linux-x64/litestream", import.meta.url),
);

/** Why Litestream cannot run here, or undefined when it can. */
export function noLitestream(): string | undefined {
  const p = (globalThis as { process?: { platform?: string; arch?: string } }).process;
  if (p?.platform !== "linux" || p.arch !== "x64") {
    return `@flydotio/litestream-linux-x64 ships a Linux x64 binary; this is ${p?.platform} ${p?.arch}`;
  }
  if (!existsSync(LITESTREAM)) return `${LITESTREAM} is missing (npm ci installs it)`;
  return undefined;
}

const ORIGINAL_KEYS = 100_000;
/**
 * Litestream's intervals in these tests (ms): the WAL copied and shipped every
 * 100 ms (KVSQLITE_LITESTREAM_INTERVAL to measure others; Litestream's default is 1000).
 */
const INTERVAL = Number(
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.KVSQLITE_LITESTREAM_INTERVAL ?? 100,
);
/** What a lost machine may lose at those intervals: 250 ms at 100 ms. */
const MACHINE_BOUND = 2.5 * INTERVAL;

/** A folder with a store of 100,000 keys, replicated by a running Litestream to a `file://` replica. */
interface Replicated {
  dir: string;
  db: string;
  replica: string;
  litestream: ChildProcess;
  log: () => string;
}

/** Resolves after `ms`. */
export function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether the replica holds a snapshot (Litestream's first upload of a generation). */
export function hasSnapshot(replica: string): boolean {
  const generations = join(replica, "generations");
  if (!existsSync(generations)) return false;
  return readdirSync(generations).some((g) => {
    const snapshots = join(generations, g, "snapshots");
    return existsSync(snapshots) && readdirSync(snapshots).length > 0;
  });
}

/** Creates the store, starts Litestream on it and waits for its first snapshot in the replica. */
async function replicated(t: Target, seed?: (db: string) => void): Promise<Replicated> {
  const dir = tempDir();
  const db = join(dir, "app.db");
  const replica = join(dir, "replica");
  {
    using kv = t.openKv(db);
    const keys = Array.from({ length: ORIGINAL_KEYS }, (_, i) => [`k:${i}`, i] as [string, number]);
    kv.setMany(keys);
    seed?.(db);
  }
  const config = join(dir, "litestream.yml");
  writeFileSync(
    config,
    [
      "dbs:",
      `  - path: ${db}`,
      `    monitor-interval: ${INTERVAL}ms`,
      "    replicas:",
      `      - url: file://${replica}`,
      `        sync-interval: ${INTERVAL}ms`,
      "",
    ].join("\n"),
  );
  const litestream = spawn(LITESTREAM, ["replicate", "-config", config], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  litestream.stdout!.on("data", (c) => (log += c));
  litestream.stderr!.on("data", (c) => (log += c));
  await until(() => hasSnapshot(replica) || litestream.exitCode !== null, "Litestream's first snapshot");
  if (litestream.exitCode !== null) throw new Error(`litestream exited: ${log}`);
  return { dir, db, replica, litestream, log: () => log };
}

/** Ends a process and resolves once it has exited. */
export function stop(child: ChildProcess, signal: "SIGKILL" | "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  return exited;
}

/** Restores the replica into a new file (to `timestamp` when given); resolves with the file and the ms it took. */
async function restore(r: Replicated, name: string, timestamp?: Date): Promise<{ path: string; ms: number }> {
  const path = join(r.dir, name);
  const args = ["restore", "-o", path, ...(timestamp ? ["-timestamp", timestamp.toISOString()] : [])];
  const started = performance.now();
  const child = spawn(LITESTREAM, [...args, `file://${r.replica}`], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  if (code !== 0) throw new Error(`litestream restore exited with ${code}: ${out}`);
  return { path, ms: performance.now() - started };
}

/** An acknowledgement from the writer: key `w:${i}` was written at `at` (Date.now()). */
interface Ack {
  i: number;
  at: number;
}

/** Starts the steady writer (about 1,000 writes/s) on the store and collects its acknowledgements. */
function startWriter(db: string, mode: string): { child: ChildProcess; acks: Ack[]; stderr: () => string } {
  const rt = currentRuntime();
  const child = spawn(rt.command, [...rt.args, WORKER, "steady-writer", db, mode], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acks: Ack[] = [];
  let stderr = "";
  onLines(child.stdout!, (line) => {
    const [i, at] = line.split(" ");
    acks.push({ i: Number(i), at: Number(at) });
  });
  child.stderr!.on("data", (c) => (stderr += c));
  return { child, acks, stderr: () => stderr };
}

/**
 * Runs the writer for about 1.5 s under Litestream, SIGKILLs it (and with
 * `machine`, Litestream at the same moment), restores the replica, and checks
 * it: sound, every original key, and the acknowledged writes it lacks. Returns
 * those, with the moment of the kill and the restore's time.
 */
async function killAndRestore(
  t: Target,
  mode: string,
  machine: boolean,
): Promise<{ lost: Ack[]; acked: number; killedAt: number; restoreMs: number }> {
  const r = await replicated(t);
  try {
    const writer = startWriter(r.db, mode);
    await until(() => writer.acks.length >= 1_500 || writer.child.exitCode !== null, "1,500 acknowledged writes");
    if (writer.child.exitCode !== null) throw new Error(`the writer ended: ${writer.stderr()}`);
    const killedAt = Date.now();
    const kills = [stop(writer.child, "SIGKILL")];
    if (machine) kills.push(stop(r.litestream, "SIGKILL"));
    await Promise.all(kills);
    const acks = writer.acks.filter((a) => a.at <= killedAt);
    if (!machine) {
      // Litestream goes on: it copies the rest of the WAL within its intervals,
      // then stops cleanly.
      await wait(10 * INTERVAL);
      await stop(r.litestream, "SIGTERM");
    }
    const restored = await restore(r, "restored.db");
    using kv = t.openKv(restored.path);
    kv.integrityCheck();
    assert.equal(kv.count({ prefix: "k:" }), ORIGINAL_KEYS, "every original key is restored");
    const values = kv.getMany(acks.map((a) => `w:${a.i}`));
    const lost = acks.filter((a, n) => values[n] !== a.i);
    return { lost, acked: acks.length, killedAt, restoreMs: restored.ms };
  } finally {
    await stop(r.litestream, "SIGKILL");
  }
}

/** The newest acknowledgement that a restore lacks, as ms before the kill (0 when nothing was lost). */
function lossWindow(result: { lost: Ack[]; killedAt: number }): number {
  return result.lost.length === 0 ? 0 : result.killedAt - Math.min(...result.lost.map((a) => a.at));
}

/**
 * The same file off the machine: a store of 100,000 keys replicated by
 * Litestream (npm's binary, intervals of 100 ms, a `file://` replica) while a
 * writer process acknowledges about 1,000 writes a second, killed with SIGKILL.
 */
export function litestreamTests(test: TestFn, t: Target): void {
  const skip = noLitestream();
  const rt = currentRuntime().name;
  // One kill per test in `npm test`; KVSQLITE_LONG=1 KVSQLITE_KILLS=N for N (each on a new store and replica).
  const rounds = crashKills() === 4 ? 1 : crashKills();

  /**
   * Kills the writer (with `machine`, Litestream too) `rounds` times, each on a
   * new store and replica, and checks that the restored replica lacks no
   * acknowledged write older than `bound` ms before the kill.
   */
  const killTest = (name: string, mode: string, machine: boolean, bound: number) =>
    test(`Litestream (${rt}): ${name}`, async () => {
      for (let round = 0; round < rounds; round++) {
        const r = await killAndRestore(t, mode, machine);
        const window = lossWindow(r);
        console.log(
          `# litestream (${rt}) ${mode}, ${machine ? "writer and Litestream" : "writer"} killed: ${r.acked} ` +
            `acknowledged, ${r.lost.length} lost (the oldest ${window} ms before the kill), restore ` +
            `${r.restoreMs.toFixed(0)} ms`,
        );
        assert.ok(r.acked >= 1_500);
        if (bound === 0) assert.deepEqual(r.lost, [], "no acknowledged write is lost");
        assert.ok(window <= bound, `acknowledged writes lost from ${window} ms before the kill`);
      }
    }, { skip });

  killTest("a writer killed alone loses no acknowledged write in the restored replica", "immediate", false, 0);
  killTest(
    `writer and Litestream killed together lose only the last ${MACHINE_BOUND} ms`,
    "immediate",
    true,
    MACHINE_BOUND,
  );

  test(`Litestream (${rt}): a restore to a timestamp between two writes gives the earlier state`, async () => {
    const r = await replicated(t);
    try {
      using kv = t.openKv(r.db);
      kv.set("state", "before");
      await wait(10 * INTERVAL);
      const between = new Date();
      await wait(10 * INTERVAL);
      kv.set("state", "after");
      kv.delete("k:0");
      await wait(10 * INTERVAL);
      await stop(r.litestream, "SIGTERM");
      const earlier = await restore(r, "earlier.db", between);
      const latest = await restore(r, "latest.db");
      using before = t.openKv(earlier.path);
      using after = t.openKv(latest.path);
      assert.equal(before.get("state"), "before");
      assert.equal(before.get("k:0"), 0);
      assert.equal(after.get("state"), "after");
      assert.equal(after.has("k:0"), false);
      before.integrityCheck();
    } finally {
      await stop(r.litestream, "SIGKILL");
    }
  }, { skip });

  test(
    `Litestream (${rt}): under its read lock, truncate reports busy at once; writes, backup and info go on`,
    async () => {
      const r = await replicated(t);
      try {
        using kv = t.openKv(r.db, { busyTimeout: 20_000, journalSizeLimit: 1 << 20 });
        kv.setMany(Array.from({ length: 2_000 }, (_, i) => [`x:${i}`, "v".repeat(500)] as [string, string]));
        const started = Date.now();
        const result = kv.checkpoint("truncate");
        const took = Date.now() - started;
        assert.equal(result.busy, true, "Litestream's reader pins the WAL");
        assert.ok(took < 10_000, `took ${took} ms (SQLite alone waits the whole busyTimeout, 20 s)`);
        assert.equal(kv.checkpoint("passive").busy, false);
        assert.equal(kv.set("after", 1), true);
        kv.backup(join(r.dir, "backup.db"));
        using copy = t.openKv(join(r.dir, "backup.db"));
        assert.equal(copy.count({ prefix: "x:" }), 2_000);
        await wait(5 * INTERVAL);
        const lines: string[] = [];
        const code = run([r.db, "info", "--json"], {
          out: (l) => lines.push(l),
          err: (l) => lines.push(l),
          stdin: () => "",
        });
        assert.equal(code, 0, lines.join("\n"));
        const info = JSON.parse(lines[0]!);
        assert.match(info.litestream.generation, /^[0-9a-f]{16}$/);
        assert.ok(Date.parse(info.litestream.lastWalCopy) >= started, "Litestream copied the WAL after the writes");
        assert.ok(info.walBytes > 0);
        assert.ok(info.walFrames >= info.checkpointedFrames);
      } finally {
        await stop(r.litestream, "SIGKILL");
      }
    },
    { skip },
  );

  // durability "batched" acknowledges a write before its commit: the batch
  // commits COMMIT ms after its first write, so a killed process loses at most
  // the writes of its last COMMIT ms (plus the timer's lateness, allowed 50 ms),
  // and a lost machine Litestream's bound on top.
  const COMMIT = 50;
  killTest(
    `durability "batched" loses at most one batch when the writer dies`,
    `batched:${COMMIT}`,
    false,
    COMMIT + 50,
  );
  killTest(
    `durability "batched" loses at most Litestream's ${MACHINE_BOUND} ms plus one batch with the machine`,
    `batched:${COMMIT}`,
    true,
    MACHINE_BOUND + COMMIT + 50,
  );
}
