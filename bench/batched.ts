/**
 * `npm run bench:batched [-- --quick]`: batched commits measured.
 *
 * - Micro (Node and Bun, `--micro` runs one runtime): units of "4 writes + 1
 *   read" (get + expire, incr with a TTL, two incr), 16 units per event-loop
 *   task, in the default mode, in batched mode, and inside one explicit
 *   `transaction()` per task.
 * - Server (bench/server.ts on Node's node:http and on Bun.serve): the same
 *   handler on plain Maps, on the default mode and on batched mode, under
 *   autocannon (16 connections, on 127.0.0.1), in rotating order, medians.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openKv } from "../mod.ts";
import { rateAsync, roundMedians } from "./measure.ts";

const proc = (globalThis as unknown as { process: { argv: string[]; versions: Record<string, string> } }).process;
const args = proc.argv.slice(2);
const quick = args.includes("--quick");
const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-batched-"));
const root = fileURLToPath(new URL("..", import.meta.url));

// ---- micro ----------------------------------------------------------------------

const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

async function micro(): Promise<Record<string, number>> {
  const PER_TASK = 16;
  const SLICE = quick ? 150 : 600;
  const ROUNDS = quick ? 3 : 5;
  const modes = ["immediate", "batched", "transaction"] as const;
  const stores = Object.fromEntries(modes.map((m) => {
    const kv = openKv(join(dir, `micro-${m}.db`), { durability: m === "batched" ? "batched" : "immediate" });
    kv.setMany(Array.from({ length: 1000 }, (_, i) => [`session:${i}`, { user: i }] as [string, unknown]), {
      ttl: 3_600_000,
    });
    kv.flush();
    return [m, kv];
  }));
  let n = 0;
  const unit = (kv: typeof stores[string]) => {
    const id = `session:${n++ % 1000}`;
    if (kv.get(id) !== undefined) kv.expire(id, 3_600_000);
    kv.incr(`rate:${id}`, 1, { ttl: 60_000 });
    kv.incr("audit:requests");
    kv.incr(`audit:user:${id}`);
  };
  // One step is one event-loop task of PER_TASK units.
  const task = async (mode: typeof modes[number]) => {
    const kv = stores[mode]!;
    if (mode === "transaction") {
      kv.transaction(() => {
        for (let i = 0; i < PER_TASK; i++) unit(kv);
      });
    } else for (let i = 0; i < PER_TASK; i++) unit(kv);
    await nextTask();
  };
  const rates = await roundMedians(modes, ROUNDS, async (mode) => {
    return (await rateAsync(() => task(mode), SLICE, { chunk: 1 })) * PER_TASK;
  });
  for (const kv of Object.values(stores)) kv.close();
  return Object.fromEntries(rates);
}

if (args.includes("--micro")) {
  console.log(JSON.stringify(await micro()));
  rmSync(dir, { recursive: true, force: true });
  (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(0);
}

// ---- orchestrator (Node) ------------------------------------------------------------

function run(command: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.on(
      "close",
      (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${argv.join(" ")}: ${code}`))),
    );
  });
}

async function serve(runtime: string, mode: string, seconds: number): Promise<number> {
  const { default: autocannon } = await import("autocannon");
  const child = spawn(`${root}node_modules/.bin/${runtime}`, [
    "bench/server.ts",
    mode,
    join(dir, `server-${runtime}-${mode}-${Date.now()}.db`),
  ], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("close", (code) => reject(new Error(`the ${runtime} server ended with ${code}`)));
  });
  try {
    const result = await autocannon({ url: `http://127.0.0.1:${port}/me`, connections: 16, duration: seconds });
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${runtime}/${mode}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    }
    return result.requests.average;
  } finally {
    child.kill("SIGTERM");
  }
}

const lines: string[] = [];
const say = (s = "") => lines.push(s);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const report: Record<string, unknown> = { quick };

say(`### Batched commits${quick ? " (quick)" : ""}`);
say();
say("Micro: units of 4 writes + 1 read, 16 per event-loop task (units/s, medians):");
say();
say("| runtime | default | batched | one transaction per task | batched ÷ default | batched ÷ transaction |");
say("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const runtime of ["node", "bun"]) {
  const r = JSON.parse(
    await run(`${root}node_modules/.bin/${runtime}`, ["bench/batched.ts", "--micro", ...(quick ? ["--quick"] : [])]),
  );
  report[`micro ${runtime}`] = r;
  say(
    `| ${runtime} | ${fmt(r.immediate)} | ${fmt(r.batched)} | ${fmt(r.transaction)} | ${
      (r.batched / r.immediate).toFixed(2)
    } | ${(r.batched / r.transaction).toFixed(2)} |`,
  );
}
say();
const seconds = quick ? 1 : 5;
const rounds = quick ? 1 : 3;
say(
  `Server: GET /me under autocannon, 16 connections, ${seconds} s per run, medians of ${rounds} rotating rounds (req/s):`,
);
say();
say("| server | Maps | default | batched | batched ÷ Maps | batched ÷ default |");
say("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const runtime of ["node", "bun"]) {
  const modes = ["maps", "immediate", "batched"];
  const m = Object.fromEntries(await roundMedians(modes, rounds, (mode) => serve(runtime, mode, seconds)));
  report[`server ${runtime}`] = m;
  say(
    `| ${runtime === "bun" ? "Bun.serve" : "node:http"} | ${fmt(m.maps!)} | ${fmt(m.immediate!)} | ${
      fmt(m.batched!)
    } | ${(m.batched! / m.maps!).toFixed(2)} | ${(m.batched! / m.immediate!).toFixed(2)} |`,
  );
}
console.log(lines.join("\n"));
console.log(JSON.stringify(report));
rmSync(dir, { recursive: true, force: true });
