/**
 * `npm run bench:batched [-- --quick]`: batched commits measured.
 *
 * - In process (Node and Bun, `--micro` runs one runtime): the server's
 *   request (bench/handler.ts) without HTTP, on every mode of the handler, 16
 *   requests per event-loop task. `--micro --only=<mode>` runs one mode for
 *   10 s, for a CPU profile (`node --cpu-prof`, `bun --cpu-prof`).
 * - Server (bench/server.ts on Node's node:http and on Bun.serve): the same
 *   modes under autocannon (16 connections, on 127.0.0.1), in rotating order,
 *   medians; the audit counter is checked against the requests answered.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { handler, type Mode, MODES, openStore } from "./handler.ts";
import { rateAsync, roundMedians } from "./measure.ts";

const proc = (globalThis as unknown as { process: { argv: string[]; versions: Record<string, string> } }).process;
const args = proc.argv.slice(2);
const quick = args.includes("--quick");
const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-batched-"));
const root = fileURLToPath(new URL("..", import.meta.url));

// ---- micro ----------------------------------------------------------------------

const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The server's request in process, without HTTP: 16 requests per event-loop
 * task (as a server answers the connections one poll found ready), every mode
 * in rotating rounds; requests per second, medians.
 */
async function micro(): Promise<Record<string, number>> {
  const PER_TASK = 16;
  const SLICE = quick ? 150 : 600;
  const ROUNDS = quick ? 3 : 7;
  const handlers = Object.fromEntries(MODES.map((m) => [m, handler(openStore(m, join(dir, `micro-${m}.db`)))]));
  const task = async (mode: Mode) => {
    const handle = handlers[mode]!;
    for (let i = 0; i < PER_TASK; i++) handle();
    await nextTask();
  };
  const rates = await roundMedians(MODES, ROUNDS, async (mode) => {
    return (await rateAsync(() => task(mode), SLICE, { chunk: 1 })) * PER_TASK;
  }, { warmup: true });
  return Object.fromEntries(rates);
}

const only = args.find((a) => a.startsWith("--only="))?.slice(7) as Mode | undefined;
if (only !== undefined) {
  if (!MODES.includes(only)) throw new Error(`--only: one of ${MODES.join(", ")}`);
  const handle = handler(openStore(only, join(dir, `profile-${only}.db`)));
  const end = performance.now() + 10_000;
  let requests = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) handle();
    requests += 16;
    await nextTask();
  }
  console.log(`${only}: ${requests} requests in 10 s`);
  rmSync(dir, { recursive: true, force: true });
  (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(0);
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

const audits: string[] = [];

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
    // Every request answered was counted once; those autocannon sent but stopped waiting for may be counted too.
    const audit = Number(await (await fetch(`http://127.0.0.1:${port}/audit`)).text());
    const { total, sent } = result.requests as { total: number; sent: number };
    if (!(audit >= total && audit <= sent)) {
      throw new Error(
        `${runtime}/${mode}: the audit counter is ${audit} for ${total} requests answered of ${sent} sent`,
      );
    }
    audits.push(`${runtime}/${mode} ${audit} of ${total}..${sent}`);
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
say(
  "In process: the server's request without HTTP, 16 per event-loop task (requests/s, medians; us per request; the store's us = a mode's us − no store's):",
);
say();
const head = (cells: string[]) => {
  say(`| runtime | ${cells.join(" | ")} |`);
  say(`| --- | ${cells.map(() => "---:").join(" | ")} |`);
};
head([...MODES, "batched ÷ raw", "`touch` ÷ raw", "batched ÷ default", "`interval` ÷ batched"]);
const us = (rate: number) => 1e6 / rate;
const x = (a: number, b: number) => (a / b).toFixed(2);
for (const runtime of ["node", "bun"]) {
  const r = JSON.parse(
    await run(`${root}node_modules/.bin/${runtime}`, ["bench/batched.ts", "--micro", ...(quick ? ["--quick"] : [])]),
  ) as Record<Mode, number>;
  report[`micro ${runtime}`] = r;
  const cell = (m: Mode) =>
    m === "none"
      ? `${fmt(r[m])} (${us(r[m]).toFixed(1)} us)`
      : `${fmt(r[m])} (${us(r[m]).toFixed(1)}; store ${(us(r[m]) - us(r.none)).toFixed(1)})`;
  say(
    `| ${runtime} | ${MODES.map(cell).join(" | ")} | ${x(r.batched, r.raw)} | ${x(r.touch, r.raw)} | ${
      x(r.batched, r.immediate)
    } | ${x(r.interval, r.batched)} |`,
  );
}
say();
const seconds = quick ? 1 : 2;
const rounds = quick ? 1 : 7;
say(
  `Server: GET /me under autocannon, 16 connections, ${seconds} s per run, medians of ${rounds} rotating rounds (req/s):`,
);
say();
const serverRatios: [string, Mode, Mode][] = [
  ["Maps ÷ no store", "maps", "none"],
  ["behind ÷ Maps", "behind", "maps"],
  ["raw ÷ Maps", "raw", "maps"],
  ["batched ÷ Maps", "batched", "maps"],
  ["`touch` ÷ Maps", "touch", "maps"],
  ["`interval` ÷ Maps", "interval", "maps"],
  ["batched ÷ raw", "batched", "raw"],
  ["batched ÷ default", "batched", "immediate"],
];
say(`| server | ${MODES.join(" | ")} | ${serverRatios.map(([name]) => name).join(" | ")} |`);
say(`| --- | ${[...MODES, ...serverRatios].map(() => "---:").join(" | ")} |`);
for (const runtime of ["node", "bun"]) {
  const m = Object.fromEntries(await roundMedians(MODES, rounds, (mode) => serve(runtime, mode, seconds))) as Record<
    Mode,
    number
  >;
  report[`server ${runtime}`] = m;
  say(
    `| ${runtime === "bun" ? "Bun.serve" : "node:http"} | ${MODES.map((mode) => fmt(m[mode])).join(" | ")} | ${
      serverRatios.map(([, a, b]) => x(m[a], m[b])).join(" | ")
    } |`,
  );
}
say();
say(
  `The audit counter was checked after each of the ${audits.length} server runs: it counted every request answered, and at most the ones autocannon sent and stopped waiting for (a mismatch stops the benchmark). The last run of each: ${
    [...new Map(audits.map((a) => [a.split(" ")[0], a])).values()].join(", ")
  }.`,
);
console.log(lines.join("\n"));
console.log(JSON.stringify(report));
rmSync(dir, { recursive: true, force: true });
