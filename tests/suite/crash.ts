import { assert } from "../assert.ts";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Target, TestFn } from "../harness.ts";
import { currentRuntime, onLines } from "./process.ts";
import { tempFile } from "../util.ts";

const WORKER = fileURLToPath(new URL("../fixtures/worker.ts", import.meta.url));

/** How many kills: a few in `npm test`, many with KVSQLITE_LONG=1. */
export function crashKills(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  return env.KVSQLITE_LONG === "1" ? Number(env.KVSQLITE_KILLS ?? 200) : 4;
}

/** Starts the crash writer and SIGKILLs it `delay` ms after its first acknowledgement. */
function killWriter(path: string, round: number, delay: number, command = "crash-writer"): Promise<string[]> {
  const rt = currentRuntime();
  return new Promise((resolve, reject) => {
    const child = spawn(rt.command, [...rt.args, WORKER, command, path, String(round)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acks: string[] = [];
    let stderr = "";
    let armed = false;
    onLines(child.stdout, (line) => {
      acks.push(line);
      if (!armed) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), delay);
      }
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (_code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`the writer ended without being killed: ${stderr}`));
      else resolve(acks);
    });
  });
}

/**
 * SIGKILL a writer process at random moments (autocommit, setMany, nested
 * transactions) and check after each kill: the file is sound, every
 * acknowledged write is there, and no batch or transaction is half applied.
 */
export function crashTests(test: TestFn, t: Target): void {
  const kills = crashKills();
  test(`${kills} SIGKILLs of a writer lose no acknowledged write and leave no batch half applied`, async () => {
    const path = tempFile();
    let seed = 0x2545f491;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let acked = 0;
    for (let round = 0; round < kills; round++) {
      const acks = await killWriter(path, round, Math.floor(random() * 120));
      acked += acks.length;
      using kv = t.openKv(path);
      kv.integrityCheck();
      let txDone = 0;
      for (const line of acks) {
        const [kind, r, i] = line.split(" ");
        if (kind === "a") assert.equal(kv.get(`a:${r}:${i}`), Number(i), line);
        if (kind === "b") assert.equal(kv.count({ prefix: `b:${r}:${i}:` }), 50, line);
        if (kind === "t") {
          assert.equal(kv.count({ prefix: `t:${r}:${i}:` }), 11, line);
          txDone++;
        }
      }
      // Whatever the kill interrupted is there whole or not at all.
      const batches = new Map<string, number>();
      for (const key of kv.keys({ prefix: `b:${round}:` })) {
        const id = key.split(":").slice(0, 3).join(":");
        batches.set(id, (batches.get(id) ?? 0) + 1);
      }
      for (const [id, n] of batches) assert.equal(n, 50, `${id} is half applied`);
      const txs = new Map<string, number>();
      for (const key of kv.keys({ prefix: `t:${round}:` })) {
        const id = key.split(":").slice(0, 3).join(":");
        txs.set(id, (txs.get(id) ?? 0) + 1);
      }
      for (const [id, n] of txs) assert.equal(n, 11, `${id} is half applied`);
      // Not an upper bound: a killed process may lose output lines it had
      // queued for the pipe, so more may be committed than was acknowledged.
      assert.ok(txs.size >= txDone, `${txs.size} transactions found, ${txDone} acknowledged`);
      const counted = [...Array(round + 1).keys()].reduce((sum, r) => sum + kv.count({ prefix: `t:${r}:` }) / 11, 0);
      assert.equal(kv.get("t:count", 0), counted, "the counter moved with every committed transaction");
    }
    assert.ok(acked >= kills, "every writer acknowledged at least one write before its kill");
  });
}

/**
 * The same in `durability: "batched"`: SIGKILL a writer that writes one
 * iteration per event-loop task, and check after each kill that the file is
 * sound, every task before the last acknowledged one is there whole, the last
 * is there whole or not at all (at most one task's writes are lost), and no
 * transaction is half applied.
 */
export function batchedCrashTests(test: TestFn, t: Target): void {
  const kills = crashKills();
  test(`${kills} SIGKILLs of a batched writer lose at most the last task and leave nothing half applied`, async () => {
    const path = tempFile();
    let seed = 0x9e3779b9;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < kills; round++) {
      const acks = await killWriter(path, round, Math.floor(random() * 120), "crash-batched");
      using kv = t.openKv(path);
      kv.integrityCheck();
      const last = acks.length - 1;
      const whole = (i: number) =>
        kv.get(`a:${round}:${i}`) === i && kv.count({ prefix: `b:${round}:${i}:` }) === 50 &&
        kv.count({ prefix: `t:${round}:${i}:` }) === 11;
      const absent = (i: number) =>
        !kv.has(`a:${round}:${i}`) && kv.count({ prefix: `b:${round}:${i}:` }) === 0 &&
        kv.count({ prefix: `t:${round}:${i}:` }) === 0;
      for (let i = 0; i < last; i++) {
        assert.ok(whole(i), `task ${i} of round ${round} was acknowledged before the last`);
      }
      // The tasks in the file are a prefix, each whole: what a kill loses is
      // the tail after the last commit (acknowledgements queued for the pipe
      // may be lost with the process, so the tail is found in the file).
      let end = last;
      while (whole(end)) end++;
      assert.ok(absent(end), `task ${end} of round ${round} is half there`);
      assert.ok(absent(end + 1) && absent(end + 2), `a task after ${end} of round ${round} committed before it`);
      let tasks = 0;
      for (let r = 0; r <= round; r++) tasks += kv.count({ prefix: `t:${r}:` }) / 11;
      assert.equal(kv.get("t:count", 0), tasks, "the counter moved with every committed transaction");
    }
  });
}

/**
 * The async client in `durability: "batched"`: SIGKILL a process that streams
 * writes through it (4096 in flight at all times) and check after each kill
 * that the file is sound and every acknowledged write is there. The worker
 * commits the batch before it answers, so a steady stream of calls never
 * leaves acknowledged writes uncommitted (it once held them for seconds: the
 * commit waited for a turn of the worker's event loop that the stream kept
 * postponing).
 */
export function asyncBatchedCrashTests(test: TestFn, t: Target): void {
  const kills = crashKills();
  test(`${kills} SIGKILLs of a process streaming batched writes through the async client lose no acknowledged write`, async () => {
    const path = tempFile();
    let seed = 0x6a09e667;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let acknowledged = 0;
    let committedAfter = 0;
    for (let round = 0; round < kills; round++) {
      const acks = await killWriter(path, round, 200 + Math.floor(random() * 400), "crash-async-batched");
      using kv = t.openKv(path);
      kv.integrityCheck();
      const acked = acks.length === 0 ? 0 : Number(acks.at(-1)!.split(" ")[2]);
      let lost = 0;
      for (let i = 0; i < acked; i += 1000) {
        const keys = Array.from({ length: Math.min(1000, acked - i) }, (_, j) => `w:${round}:${i + j}`);
        lost += kv.getMany(keys).filter((v) => v === undefined).length;
      }
      assert.equal(lost, 0, `round ${round}: ${lost} of ${acked} acknowledged writes lost`);
      acknowledged += acked;
      committedAfter += kv.count({ prefix: `w:${round}:` }) - acked;
    }
    console.log(
      `${t.name}: ${kills} kills of a batched async writer: ${acknowledged} writes acknowledged, 0 lost, ${committedAfter} committed beyond the last acknowledgement`,
    );
  });
}
