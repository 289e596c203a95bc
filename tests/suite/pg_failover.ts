import { assert } from "../assert.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { TestFn } from "../harness.ts";
import { currentRuntime, onLines, until } from "./process.ts";
import { endPool, noPostgres, startPrimary, startStandby } from "../pg_server.ts";
import { openKvPostgres } from "../../src/postgres/mod.ts";
import { stop } from "./litestream.ts";

const WRITER = fileURLToPath(new URL("../fixtures/pg_writer.ts", import.meta.url));
const WRITERS = 3;

interface Writer {
  child: ChildProcess;
  keys: number[];
  counted: number[];
  errors: number[];
  back: number[];
  /** The last failure each writer reported. */
  lastError: string;
  stderr: () => string;
  ready: Promise<void>;
}

function startWriter(id: number, primary: string, standby: string): Writer {
  const rt = currentRuntime();
  const child = spawn(rt.command, [...rt.args, WRITER, String(id), primary, standby], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const w: Writer = {
    child,
    keys: [],
    counted: [],
    errors: [],
    back: [],
    lastError: "",
    stderr: () => err,
    ready: undefined!,
  };
  let err = "";
  child.stderr!.on("data", (c) => (err += c));
  w.ready = new Promise((resolve, reject) => {
    child.once("exit", () => reject(new Error(`writer ${id} exited: ${err}`)));
    onLines(child.stdout!, (line) => {
      const [kind, a] = line.split(" ");
      if (kind === "ready") resolve();
      else if (kind === "k") w.keys.push(Number(a));
      else if (kind === "c") w.counted.push(Number(a));
      else if (kind === "e") {
        w.errors.push(Number(a));
        w.lastError = line;
      } else if (kind === "b") w.back.push(Number(a));
    });
  });
  return w;
}

/**
 * Three processes as three machines write through openKvPostgres to a primary
 * with a synchronous standby; the primary is SIGKILLed mid-run and the standby
 * promoted; each process reopens on it after its first error.
 */
export function pgFailoverTests(test: TestFn): void {
  const rt = currentRuntime().name;
  test(
    `PostgreSQL failover (${rt}): primary killed, synchronous standby promoted: no acknowledged write or increment lost`,
    async () => {
      const primary = await startPrimary({ synchronousStandby: true });
      const standby = await startStandby(primary);
      const writers: Writer[] = [];
      try {
        // The standby must be the synchronous one before a write counts.
        const check = new pg.Client({ connectionString: primary.url });
        await check.connect();
        for (let i = 0; i < 200; i++) {
          const r = await check.query("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'");
          if (Number(r.rows[0].count) === 1) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await check.end();
        for (let id = 0; id < WRITERS; id++) writers.push(startWriter(id, primary.url, standby.url));
        await Promise.all(writers.map((w) => w.ready));
        await until(() => writers.every((w) => w.counted.length >= 100), "100 rounds from every writer", 30_000);
        const killedAt = Date.now();
        await primary.stop("SIGKILL");
        standby.promote();
        const promotedAt = Date.now();
        await until(
          () => writers.every((w) => w.back.length > 0),
          `every writer back on the new primary (${writers.map((w) => `${w.lastError} ${w.stderr()}`).join("; ")})`,
          30_000,
        );
        const counts = writers.map((w) => w.counted.length);
        await until(() => writers.every((w, i) => w.counted.length >= counts[i]! + 50), "50 more rounds each", 30_000);
        await Promise.all(writers.map((w) => stop(w.child, "SIGKILL")));

        const pool = new pg.Pool({ connectionString: standby.url });
        try {
          await using kv = await openKvPostgres(pool);
          let keys = 0;
          let increments = 0;
          for (let id = 0; id < WRITERS; id++) {
            const w = writers[id]!;
            const values = await kv.getMany(w.keys.map((n) => `w${id}:${n}`));
            values.forEach((v, i) => assert.equal(v, w.keys[i], `w${id}:${w.keys[i]} was acknowledged`));
            const markers = await kv.getMany(w.counted.map((n) => `c${id}:${n}`));
            markers.forEach((v, i) => assert.equal(v, 1, `increment c${id}:${w.counted[i]} was acknowledged`));
            keys += w.keys.length;
            increments += w.counted.length;
          }
          let recorded = 0;
          for (let id = 0; id < WRITERS; id++) recorded += await kv.count({ prefix: `c${id}:` });
          const counter = await kv.get<number>("counter");
          assert.equal(counter, recorded, "the counter counts every increment that committed, once");
          const backIn = writers.map((w) => w.back[0]! - killedAt);
          console.log(
            `# failover (${rt}): ${keys} acknowledged keys and ${increments} acknowledged increments, 0 lost; counter ` +
              `${counter} (${counter! - increments} committed without their answer); promoted ${
                promotedAt - killedAt
              } ms after the kill; writers back ${backIn.join(", ")} ms after it`,
          );
          for (const ms of backIn) assert.ok(ms <= 5_000, `a writer was back ${ms} ms after the kill`);
        } finally {
          await endPool(pool);
        }
      } finally {
        await Promise.all(writers.map((w) => stop(w.child, "SIGKILL")));
        await standby.stop();
        await primary.stop();
      }
    },
    { skip: noPostgres() },
  );
}
