/**
 * `npm run bench:watch`: watch, queues and the change feed across real
 * processes, on the runtime it runs on (the built-in driver), in one run:
 *
 * 1. how long another process's write takes to reach a watcher (pollInterval 5);
 * 2. the CPU an idle process with 100 watchers spends polling, beside one
 *    with 0 watchers and one with only a bare 5 ms interval (the floor of any poll);
 * 3. queue throughput, 1 producer and 2 `listen` consumers, each its own
 *    process, beside the same three processes on hand-written SQL over the same
 *    table and driver, in rotating rounds: from the first enqueue to the last
 *    message handled (its ack follows at once);
 * 4. enqueue-to-handler latency across processes at about 200 messages/s;
 * 5. `set` on a file with `changeFeed: true` beside one without, interleaved.
 *
 * The children are this file again (`--child <role> ...`) on the same runtime.
 * Prints a Markdown table per part, then every figure as one JSON line.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { openKv } from "../mod.ts";
import type { Kv } from "../mod.ts";
import { createQueueSql, queueTableName } from "../src/queue/queue.ts";
import { quoteName } from "../src/names.ts";
import { DEFAULTS } from "../src/options.ts";
import { rate, rotate, roundMedians, runtimeLabel } from "./measure.ts";
import { type RawDatabase, rawPragmas } from "./subjects.ts";

const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
const runtime = runtimeLabel();
const SCRIPT = fileURLToPath(import.meta.url);
const quick = process.argv.includes("--quick");

/** The part of the wall clock a process can compare with another's: ms since the epoch, to a fraction of a ms. */
const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A wait of `mean` ms ± half of it, so that a writer's beat does not lock to the reader's poll. */
const jittered = (mean: number) => mean * (0.5 + Math.random());

const POLL = 5;
const QUEUE = "work";
/** The lease of a claim: long enough that no message is delivered twice here. */
const LEASE = 30_000;
/**
 * How many handlers each `listen` consumer runs at once. 1: a claim on the
 * synchronous store does not wait, so with a handler that does nothing more
 * loops only take turns (4 measured the same as 1 on Node, within the noise).
 */
const CONCURRENCY = 1;
/** How long the hand-written consumer sleeps when nothing is due, ms. */
const RAW_IDLE_SLEEP = 1;

const settings = {
  watchWrites: quick ? 50 : 200,
  watchGap: 20,
  idleMs: quick ? 1000 : 3000,
  idleRounds: quick ? 1 : 3,
  watchers: 100,
  messages: quick ? 2_000 : 20_000,
  queueRounds: quick ? 1 : 5,
  e2eMessages: quick ? 200 : 1_000,
  e2eGap: 5,
  rounds: quick ? 3 : 5,
  slice: quick ? 40 : 250,
};

/** The runtime's built-in SQLite, as the raw side uses it (the driver `openKv` picks). */
function openRaw(path: string): RawDatabase {
  if (g.Bun) {
    const { Database } = process.getBuiltinModule("bun:sqlite") as { Database: new (path: string) => RawDatabase };
    return new Database(path);
  }
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite") as {
    DatabaseSync: new (path: string) => RawDatabase;
  };
  return new DatabaseSync(path);
}

/** A raw file with kvsqlite's pragmas and its queue table (and index) for key table "kv". */
function openRawQueue(path: string): { db: RawDatabase; q: string } {
  const db = openRaw(path);
  db.exec(rawPragmas(DEFAULTS.mmapSize, DEFAULTS.cacheSize));
  db.exec(createQueueSql("kv"));
  return { db, q: quoteName(queueTableName("kv")) };
}

// ---- the children ------------------------------------------------------------

const out = (value: unknown) => console.log(typeof value === "string" ? value : JSON.stringify(value));

/** Resolves when the parent closes this process's stdin. */
function stopped(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on("end", () => resolve());
    process.stdin.resume();
  });
}

/** Writes key "t" `n` times, about every `gap` ms, with the time of each write. */
async function writer(path: string, n: number, gap: number): Promise<void> {
  using kv = openKv(path);
  for (let i = 0; i < n; i++) {
    kv.set("t", { i, t: wall() });
    await sleep(jittered(gap));
  }
  out({ writes: n });
}

/**
 * Holds `watchers` watches, each waiting for a change (`timer`: none, but a
 * bare interval of pollInterval ms), and reports its CPU time over `ms`.
 */
async function idle(path: string, subject: string, ms: number): Promise<void> {
  const kv = openKv(path, { pollInterval: POLL });
  const watchers = subject === "timer" ? 0 : Number(subject);
  const timer = subject === "timer" ? setInterval(() => {}, POLL) : undefined;
  const watches = Array.from({ length: watchers }, (_, i) => kv.watch([`idle:${i}`]));
  for (const w of watches) await w.next();
  const pending = watches.map((w) => w.next());
  await sleep(300);
  kv.stats({ reset: true });
  const cpu = process.cpuUsage();
  const start = performance.now();
  await sleep(ms);
  const used = process.cpuUsage(cpu);
  const elapsed = performance.now() - start;
  const { polls } = kv.stats();
  clearInterval(timer);
  for (const w of watches) await w.return();
  await Promise.all(pending);
  kv.close();
  out({ cpuMs: (used.user + used.system) / 1000, elapsed, polls });
}

/** Enqueues `n` messages, one commit each, every `gap` ms on average (0: as fast as it can); reports when. */
async function producer(path: string, kind: string, n: number, gap: number): Promise<void> {
  const payload = (i: number) => (gap > 0 ? wall() : { n: i });
  let first = 0;
  if (kind === "kvsqlite") {
    using kv = openKv(path);
    const q = kv.queue(QUEUE);
    first = wall();
    for (let i = 0; i < n; i++) {
      q.enqueue(payload(i));
      if (gap > 0) await sleep(jittered(gap));
    }
  } else {
    const { db, q } = openRawQueue(path);
    const insert = db.prepare(`INSERT INTO ${q} (queue, due, v, kind, enqueued) VALUES (?, ?, ?, 0, ?)`);
    first = wall();
    for (let i = 0; i < n; i++) {
      const now = Date.now();
      insert.run(QUEUE, now, JSON.stringify(payload(i)), now);
      if (gap > 0) await sleep(jittered(gap));
    }
    db.close();
  }
  out({ first, last: wall() });
}

/**
 * Handles messages until stdin closes; reports how many it handled and when
 * the last was handled, and (`latency`) now − the value of each.
 */
async function consumer(path: string, kind: string, mode: string): Promise<void> {
  let handled = 0;
  let last = 0;
  const latencies: number[] = [];
  const handle = mode === "latency"
    ? (value: unknown) => {
      const now = wall();
      latencies.push(now - (value as number));
      handled++;
      last = now;
    }
    : () => {
      handled++;
      last = wall();
    };
  const stop = stopped();
  if (kind === "kvsqlite") {
    const kv = openKv(path, { pollInterval: POLL });
    const abort = new AbortController();
    const listening = kv.queue(QUEUE).listen(handle, { concurrency: CONCURRENCY, lease: LEASE, signal: abort.signal });
    out("ready");
    await stop;
    abort.abort();
    await listening;
    kv.close();
  } else {
    // The hand-written consumer: one claim by UPDATE ... RETURNING, the
    // handler, one DELETE; a short sleep when nothing is due.
    const { db, q } = openRawQueue(path);
    const owner = crypto.randomUUID();
    const claim = db.prepare(
      `UPDATE ${q} SET owner = ?, due = ?, attempts = attempts + 1 WHERE id = (SELECT id FROM ${q}
WHERE queue = ? AND dead = 0 AND due <= ? ORDER BY due, id LIMIT 1) RETURNING id, v`,
    );
    const ack = db.prepare(`DELETE FROM ${q} WHERE id = ? AND owner = ?`);
    let done = false;
    void stop.then(() => (done = true));
    out("ready");
    while (!done) {
      const now = Date.now();
      // bun:sqlite answers null for no row, node:sqlite undefined.
      const row = (claim.get(owner, now + LEASE, QUEUE, now) ?? undefined) as { id: number; v: string } | undefined;
      if (row === undefined) {
        await sleep(RAW_IDLE_SLEEP);
        continue;
      }
      handle(JSON.parse(row.v));
      ack.run(row.id, owner);
    }
    db.close();
  }
  out({ handled, last, latencies });
}

// ---- the parent --------------------------------------------------------------

/** A child process of this runtime running this file in `role`, its stdout read line by line. */
class Child {
  readonly process: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiting: ((line: string | undefined) => void)[] = [];
  #ended = false;
  readonly exited: Promise<number>;

  constructor(role: string, args: (string | number)[]) {
    const argv = [SCRIPT, "--child", role, ...args.map(String)];
    this.process = spawn(process.execPath, g.Deno ? ["run", "-A", ...argv] : argv, {
      stdio: ["pipe", "pipe", "inherit"],
    });
    createInterface({ input: this.process.stdout! }).on("line", (line) => {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    }).on("close", () => {
      this.#ended = true;
      for (const waiter of this.#waiting.splice(0)) waiter(undefined);
    });
    this.exited = new Promise((resolve) => this.process.on("exit", (code) => resolve(code ?? 1)));
  }

  /** The next line it prints; throws once it has ended. */
  async line(): Promise<string> {
    const line = this.#lines.shift() ??
      (this.#ended ? undefined : await new Promise<string | undefined>((resolve) => this.#waiting.push(resolve)));
    if (line === undefined) throw new Error(`a ${process.argv0} child ended early (code ${await this.exited})`);
    return line;
  }

  /** Its last line, parsed, once it has ended by itself (or after its stdin closes). */
  async result<T>(stop = false): Promise<T> {
    if (stop) this.process.stdin!.end();
    const code = await this.exited;
    if (code !== 0) throw new Error(`a child ended with code ${code}`);
    let last: string | undefined;
    for (;;) {
      try {
        last = await this.line();
      } catch {
        break;
      }
    }
    return JSON.parse(last!) as T;
  }
}

/** The value at fraction `p` of the sorted values (nearest rank). */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** The parent's folder of files, one file per measurement. */
let dir = "";
let files = 0;
const file = (name: string) => join(dir, `${name}-${files++}.db`);

/** 1. Another process writes key "t" every ~20 ms; this one watches it. */
async function watchLatency(): Promise<{ p50: number; p99: number; writes: number; states: number }> {
  const path = file("watch");
  using kv = openKv(path, { pollInterval: POLL });
  const watch = kv.watch<{ i: number; t: number }>(["t"]);
  await watch.next();
  const n = settings.watchWrites;
  const child = new Child("writer", [path, n, settings.watchGap]);
  const latencies: number[] = [];
  let states = 0;
  for (;;) {
    const { value } = await watch.next();
    const now = wall();
    const entry = value![0]!.value!;
    states++;
    latencies.push(now - entry.t);
    if (entry.i === n - 1) break;
  }
  await watch.return();
  await child.result();
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), writes: n, states };
}

/** The idle processes compared: 0 watchers, a bare timer (the floor of any poll), 100 watchers. */
const IDLE = [
  { subject: "0", label: "0 watchers" },
  { subject: "timer", label: `0 watchers, a bare ${POLL} ms setInterval` },
  { subject: String(settings.watchers), label: `${settings.watchers} watchers` },
];

/** 2. CPU of an idle process, as % of one core, and its polls per second (the median run of each). */
async function idleCpu(): Promise<{ label: string; percent: number; pollsPerSecond: number }[]> {
  const path = file("idle");
  openKv(path).close();
  const runs = IDLE.map((): { percent: number; pollsPerSecond: number }[] => []);
  await rotate(IDLE, settings.idleRounds, async ({ subject }, _round, index) => {
    const r = await new Child("idle", [path, subject, settings.idleMs]).result<
      { cpuMs: number; elapsed: number; polls: number }
    >();
    runs[index]!.push({ percent: (r.cpuMs / r.elapsed) * 100, pollsPerSecond: r.polls / (r.elapsed / 1000) });
  });
  return IDLE.map(({ label }, i) => {
    const sorted = [...runs[i]!].sort((a, b) => a.percent - b.percent);
    return { label, ...sorted[Math.floor(sorted.length / 2)]! };
  });
}

type Kind = "kvsqlite" | "raw";

/** A fresh queue file for `kind`, and how to count what waits in it. */
function queueFile(kind: Kind): { path: string; size: () => number; close: () => void } {
  const path = file(`queue-${kind}`);
  if (kind === "kvsqlite") {
    const kv: Kv = openKv(path);
    const q = kv.queue(QUEUE);
    q.size();
    return { path, size: () => q.size(), close: () => kv.close() };
  }
  const { db, q } = openRawQueue(path);
  const count = db.prepare(`SELECT count(*) AS n FROM ${q} WHERE queue = ? AND dead = 0`);
  return { path, size: () => Number((count.get(QUEUE) as { n: number }).n), close: () => db.close() };
}

interface Consumed {
  handled: number;
  last: number;
  latencies: number[];
}

/**
 * `consumers` consumer processes start and say they are ready, then one
 * producer enqueues `n` messages; once the queue is empty the consumers stop.
 * Returns the producer's first enqueue time and what each consumer handled.
 */
async function queueRun(
  kind: Kind,
  n: number,
  consumers: number,
  gap: number,
  mode: "count" | "latency",
): Promise<{ first: number; enqueued: number; consumed: Consumed[] }> {
  const queue = queueFile(kind);
  try {
    const children = Array.from({ length: consumers }, () => new Child("consumer", [queue.path, kind, mode]));
    for (const c of children) {
      if ((await c.line()) !== "ready") throw new Error("a consumer did not start");
    }
    const produced = await new Child("producer", [queue.path, kind, n, gap]).result<{ first: number; last: number }>();
    while (queue.size() > 0) {
      if (children.some((c) => c.process.exitCode !== null)) throw new Error(`${kind}: a consumer ended early`);
      await sleep(5);
    }
    const consumed = await Promise.all(children.map((c) => c.result<Consumed>(true)));
    const handled = consumed.reduce((sum, c) => sum + c.handled, 0);
    if (handled !== n) throw new Error(`${kind}: ${n} messages enqueued, ${handled} handled`);
    return { first: produced.first, enqueued: produced.last, consumed };
  } finally {
    queue.close();
  }
}

interface QueueRate {
  /** Messages per second from the first enqueue to the last message handled. */
  perSecond: number;
  /** ms from the first enqueue to the last. */
  enqueueMs: number;
  /** ms from the first enqueue to the last message handled. */
  totalMs: number;
}

/** 3. Queue throughput, kvsqlite and raw in rotating rounds; the run of median throughput of each. */
async function queueThroughput(): Promise<Record<Kind, QueueRate>> {
  const kinds = ["kvsqlite", "raw"] as const;
  const runs = kinds.map((): QueueRate[] => []);
  await rotate(kinds, settings.queueRounds, async (kind, _round, index) => {
    const { first, enqueued, consumed } = await queueRun(kind, settings.messages, 2, 0, "count");
    const totalMs = Math.max(...consumed.map((c) => c.last)) - first;
    runs[index]!.push({ perSecond: settings.messages / (totalMs / 1000), enqueueMs: enqueued - first, totalMs });
  });
  const middle = (rs: QueueRate[]) => [...rs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(rs.length / 2)]!;
  return { kvsqlite: middle(runs[0]!), raw: middle(runs[1]!) };
}

/** 4. Enqueue-to-handler latency: one producer at ~200/s, one `listen` consumer. */
async function endToEnd(): Promise<{ p50: number; p99: number; messages: number }> {
  const { consumed } = await queueRun("kvsqlite", settings.e2eMessages, 1, settings.e2eGap, "latency");
  const latencies = consumed.flatMap((c) => c.latencies);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), messages: latencies.length };
}

/** 5. set on a file with the change feed beside one without: autocommit, and 1,000 in one transaction. */
async function changeFeedCost(): Promise<Record<string, { off: number; on: number }>> {
  const stores = { off: openKv(file("feed-off")), on: openKv(file("feed-on"), { changeFeed: true }) };
  const value = { name: "user", roles: ["reader"], n: 42 };
  const KEYS = 10_000;
  for (const kv of Object.values(stores)) kv.setMany(Array.from({ length: KEYS }, (_, i) => [`k${i}`, value] as const));
  const ops: Record<string, { calls: number; chunk: number; run: (kv: Kv, i: number) => unknown }> = {
    "set (autocommit)": { calls: 1, chunk: 16, run: (kv, i) => kv.set(`k${i % KEYS}`, value) },
    "1,000 sets in one transaction": {
      calls: 1000,
      chunk: 1,
      run: (kv, i) =>
        kv.transaction((tx) => {
          for (let j = 0; j < 1000; j++) tx.set(`k${(i * 1000 + j) % KEYS}`, value);
        }),
    },
  };
  const results: Record<string, { off: number; on: number }> = {};
  for (const [op, { calls, chunk, run }] of Object.entries(ops)) {
    const rates = await roundMedians(["off", "on"] as const, settings.rounds, (which) => {
      const kv = stores[which];
      return rate((i) => run(kv, i), settings.slice, { chunk }) * calls;
    }, { warmup: true });
    results[op] = { off: rates.get("off")!, on: rates.get("on")! };
  }
  for (const kv of Object.values(stores)) kv.close();
  return results;
}

async function main(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-watch-"));
  try {
    await report();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs every part and prints the tables, then the figures as one JSON line. */
async function report(): Promise<void> {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const ms = (n: number) => n.toFixed(2);
  const head = (title: string) => console.log(`### ${title}${quick ? " (quick)" : ""}: ${runtime}, built-in driver\n`);

  const watch = await watchLatency();
  head("Watch latency across processes");
  console.log(`| pollInterval | writes | states seen | p50 (ms) | p99 (ms) | target p99 | met |`);
  console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | :---: |`);
  console.log(
    `| ${POLL} | ${watch.writes} | ${watch.states} | ${ms(watch.p50)} | ${ms(watch.p99)} | <= ${2 * POLL} | ${
      watch.p99 <= 2 * POLL ? "yes" : "no"
    } |\n`,
  );

  const idle = await idleCpu();
  head("Idle CPU, one process, nothing written");
  console.log(`| process | CPU (% of one core) | polls/s | target | met |`);
  console.log(`| --- | ---: | ---: | ---: | :---: |`);
  for (const r of idle) {
    const watched = r === idle.at(-1);
    console.log(
      `| ${r.label} | ${r.percent.toFixed(2)} | ${fmt(r.pollsPerSecond)} | ${watched ? "< 1" : "—"} | ${
        watched ? (r.percent < 1 ? "yes" : "no") : "—"
      } |`,
    );
  }
  console.log(
    `\n${settings.idleMs / 1000} s per run, median of ${settings.idleRounds} run${
      settings.idleRounds > 1 ? "s" : ""
    } each, in alternating order.\n`,
  );

  const q = await queueThroughput();
  const ratio = q.kvsqlite.perSecond / q.raw.perSecond;
  head("Queue throughput across processes");
  console.log(`| consumers | messages | msg/s | all enqueued after (ms) | all handled after (ms) |`);
  console.log(`| --- | ---: | ---: | ---: | ---: |`);
  for (const [label, r] of [["kvsqlite `listen`", q.kvsqlite], ["raw SQL", q.raw]] as const) {
    console.log(
      `| ${label} | ${fmt(settings.messages)} | ${fmt(r.perSecond)} | ${fmt(r.enqueueMs)} | ${fmt(r.totalMs)} |`,
    );
  }
  console.log(`\nkvsqlite ÷ raw: ${ratio.toFixed(2)} (target >= 0.80: ${ratio >= 0.8 ? "met" : "not met"}).`);
  console.log(
    `\n1 producer (one commit per enqueue, as fast as it can) and 2 consumers, each its own process, on the same table; kvsqlite's consumers \`listen\` with concurrency ${CONCURRENCY}, the raw ones claim (UPDATE ... RETURNING) and ack (DELETE) in a loop and sleep ${RAW_IDLE_SLEEP} ms when nothing is due; handlers do nothing; times from the first enqueue; the median of ${settings.queueRounds} run${
      settings.queueRounds > 1 ? "s" : ""
    } each, alternating.\n`,
  );

  const e2e = await endToEnd();
  head("Enqueue-to-handler latency across processes");
  console.log(`| messages | rate | p50 (ms) | p99 (ms) | target p99 | met |`);
  console.log(`| ---: | ---: | ---: | ---: | ---: | :---: |`);
  console.log(
    `| ${fmt(e2e.messages)} | ~${fmt(1000 / settings.e2eGap)}/s | ${ms(e2e.p50)} | ${ms(e2e.p99)} | < 20 | ${
      e2e.p99 < 20 ? "yes" : "no"
    } |\n`,
  );

  const feed = await changeFeedCost();
  head("The change feed's cost on writes");
  console.log(`| operation (sets/s) | changeFeed off | changeFeed on | on ÷ off | target | met |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | :---: |`);
  const targets: Record<string, number> = { "set (autocommit)": 0.75, "1,000 sets in one transaction": 0.9 };
  for (const [op, r] of Object.entries(feed)) {
    const ratio = r.on / r.off;
    console.log(
      `| ${op} | ${fmt(r.off)} | ${fmt(r.on)} | ${ratio.toFixed(2)} | >= ${targets[op]!.toFixed(2)} | ${
        ratio >= targets[op]! ? "yes" : "no"
      } |`,
    );
  }
  console.log(`\nMedians of ${settings.rounds} interleaved rounds of ${settings.slice} ms.\n`);

  console.log(JSON.stringify({
    runtime,
    quick,
    watch: { pollInterval: POLL, ...watch },
    idle,
    queue: { messages: settings.messages, concurrency: CONCURRENCY, ...q, ratio },
    endToEnd: e2e,
    changeFeed: Object.fromEntries(Object.entries(feed).map(([op, r]) => [op, { ...r, ratio: r.on / r.off }])),
  }));
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) {
  const [role, path, a, b, c] = process.argv.slice(childAt + 1);
  if (role === "writer") await writer(path!, Number(a), Number(b));
  else if (role === "idle") await idle(path!, a!, Number(b));
  else if (role === "producer") await producer(path!, a!, Number(b), Number(c));
  else if (role === "consumer") await consumer(path!, a!, b!);
  else throw new Error(`unknown child role ${role}`);
} else {
  await main();
}
