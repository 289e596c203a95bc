/**
 * `npm run bench [-- --quick] [-- --compare] [-- --scale=N] [-- --workload]`: runs the
 * runner of every runtime, prints one table per runtime (ops/s and the ratios
 * that the targets speak of), the scale checks, and writes the results as
 * JSON under bench/results/. `--compare` prints the change of every ratio
 * against the newest earlier result of the same kind. `--workload` runs only
 * the runtimes' runners, not the benchmarks that print tables of their own.
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import type { RuntimeReport } from "./common.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string) => `${root}node_modules/.bin/${name}`;
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const compare = args.includes("--compare");
/** Only the runtimes' runners (the workload and scale tables), not the runners with tables of their own. */
const workloadOnly = args.includes("--workload");
const pass = args.filter((a) => a === "--quick" || a.startsWith("--scale="));
const runs: [string, string[]][] = [
  [bin("node"), ["bench/node.ts", ...pass]],
  [bin("bun"), ["bench/bun.ts", ...pass]],
  [bin("deno"), ["run", "-A", "--unstable-kv", "bench/deno.ts", ...pass]],
];

const reports: RuntimeReport[] = [];
for (const [command, argv] of runs) {
  const r = spawnSync(command, argv, { cwd: root, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    console.error(`${command} ${argv.join(" ")} failed:\n${r.stderr}`);
    process.exit(1);
  }
  reports.push(JSON.parse(r.stdout.trim().split("\n").pop()!));
}

const fmt = (n: number | undefined) => (n === undefined ? "—" : Math.round(n).toLocaleString("en-US"));
const x = (
  a: number | undefined,
  b: number | undefined,
) => (a === undefined || b === undefined ? "—" : (a / b).toFixed(2));

/** Ratios the targets speak of, per runtime and operation: "kvsqlite (d) / raw d", "kvsqlite / peer". */
function ratios(report: RuntimeReport): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const kvs = report.subjects.filter((s) => s.role === "kvsqlite");
  for (const r of report.results) {
    const row: Record<string, number> = {};
    for (const kv of kvs) {
      const raw = report.subjects.find((s) => s.role === "raw" && s.driver === kv.driver);
      if (raw && r.rates[kv.name] && r.rates[raw.name]) {
        row[`${kv.name} / ${raw.name}`] = r.rates[kv.name]! / r.rates[raw.name]!;
      }
    }
    const main = kvs[0]!;
    for (const peer of report.subjects.filter((s) => s.role === "peer")) {
      if (r.rates[main.name] && r.rates[peer.name]) {
        row[`${main.name} / ${peer.name}`] = r.rates[main.name]! / r.rates[peer.name]!;
      }
    }
    out[r.op] = row;
  }
  return out;
}

const lines: string[] = [];
const say = (line = "") => lines.push(line);
for (const report of reports) {
  say(`### ${report.runtime} ${report.version}${report.quick ? " (quick)" : ""}`);
  say();
  const names = report.subjects.map((s) => s.name);
  const kvs = report.subjects.filter((s) => s.role === "kvsqlite");
  const ratioCols: [string, string, string][] = [];
  for (const kv of kvs) {
    const raw = report.subjects.find((s) => s.role === "raw" && s.driver === kv.driver);
    if (raw) ratioCols.push([`÷ ${raw.name}`, kv.name, raw.name]);
  }
  for (const peer of report.subjects.filter((s) => s.role === "peer")) {
    ratioCols.push([`${kvs[0]!.name} ÷ ${peer.name}`, kvs[0]!.name, peer.name]);
  }
  say(`| operation (ops/s) | ${names.join(" | ")} | ${ratioCols.map((c) => c[0]).join(" | ")} |`);
  say(`|---|${names.map(() => "---:").join("|")}|${ratioCols.map(() => "---:").join("|")}|`);
  for (const r of report.results) {
    say(
      `| ${r.op} | ${names.map((n) => fmt(r.rates[n])).join(" | ")} | ${
        ratioCols.map(([, a, b]) => x(r.rates[a], r.rates[b])).join(" | ")
      } |`,
    );
  }
  say();
  for (const sc of report.scale) {
    say(`Scale, ${sc.driver} (kvsqlite ÷ raw, ops/s):`);
    say();
    say(`| keys | ${sc.sizes[0]!.ops.map((o) => o.op).join(" | ")} | file bytes per key |`);
    say(`|---:|${sc.sizes[0]!.ops.map(() => "---:").join("|")}|---:|`);
    for (const size of sc.sizes) {
      say(
        `| ${fmt(size.keys)} | ${
          size.ops.map((o) => `${fmt(o.rates.kvsqlite)} ÷ ${fmt(o.rates.raw)} = ${x(o.rates.kvsqlite, o.rates.raw)}`)
            .join(" | ")
        } | ${size.bytesPerKey.toFixed(0)} |`,
      );
    }
    if (sc.listAll) {
      say();
      say(
        `list() over ${fmt(sc.listAll.keys)} keys: RSS ${sc.listAll.rssBeforeMiB.toFixed(0)} MiB before, peak ${
          sc.listAll.rssPeakMiB.toFixed(0)
        } MiB (growth ${sc.listAll.growthMiB.toFixed(1)} MiB), ${sc.listAll.seconds.toFixed(2)} s.`,
      );
    }
    if (sc.purge) {
      const p = sc.purge;
      say(
        `purgeExpired of ${fmt(p.expired)} expired keys: ${p.smallMs.toFixed(1)} ms among ${fmt(p.small)}, ${
          p.largeMs.toFixed(1)
        } ms among ${fmt(p.large)} (×${p.ratio.toFixed(2)}).`,
      );
    }
    say();
  }
  for (const note of report.notes) say(`- ${note}`);
  if (report.notes.length) say();
}
// The runners that print tables of their own: the caching half (bench/cache.ts)
// on Node and Bun, batched commits (bench/batched.ts), what each rule of the
// contract costs (bench/rules.ts) on all three, the Keyv adapters
// (bench/keyv.ts), the async client (bench/async.ts), watch, queues and the
// change feed across processes (bench/watch.ts) and the Deno KV facade beside
// Deno KV and the core (bench/denokv.ts) on all three. Each prints its tables,
// then its figures as one JSON line.
const tableRuns: unknown[] = [];
const tableRunners: [string, string[]][] = [
  [bin("node"), ["bench/cache.ts"]],
  [bin("bun"), ["bench/cache.ts"]],
  [bin("node"), ["bench/batched.ts"]],
  [bin("node"), ["bench/rules.ts"]],
  [bin("bun"), ["bench/rules.ts"]],
  [bin("deno"), ["run", "-A", "bench/rules.ts"]],
  [bin("node"), ["bench/keyv.ts"]],
  [bin("node"), ["bench/async.ts"]],
  [bin("bun"), ["bench/async.ts"]],
  [bin("deno"), ["run", "-A", "bench/async.ts"]],
  [bin("node"), ["bench/watch.ts"]],
  [bin("bun"), ["bench/watch.ts"]],
  [bin("deno"), ["run", "-A", "bench/watch.ts"]],
  [bin("node"), ["bench/denokv.ts"]],
  [bin("bun"), ["bench/denokv.ts"]],
  [bin("deno"), ["run", "-A", "--unstable-kv", "bench/denokv.ts"]],
];
for (const [command, script] of workloadOnly ? [] : tableRunners) {
  const r = spawnSync(command, [...script, ...(quick ? ["--quick"] : [])], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) {
    console.error(`${command} ${script.join(" ")} failed:\n${r.stderr}`);
    process.exit(1);
  }
  const out = r.stdout.trim().split("\n");
  tableRuns.push(JSON.parse(out.pop()!));
  say(out.join("\n"));
  say();
}
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
say(`Machine: ${machine}.`);
console.log(lines.join("\n"));

const dir = `${root}bench/results`;
mkdirSync(dir, { recursive: true });
const kind = quick ? "quick" : "full";
const previous = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(`-${kind}.json`)).sort().pop() : undefined;
const file = `${dir}/${new Date().toISOString().replace(/[:.]/g, "-")}-${kind}.json`;
const record = {
  date: new Date().toISOString(),
  machine,
  quick,
  reports,
  tables: tableRuns,
  ratios: Object.fromEntries(reports.map((r) => [r.runtime, ratios(r)])),
};
writeFileSync(file, JSON.stringify(record, null, 1));
console.log(`\nResults: ${file.slice(root.length)}`);

if (compare) {
  if (!previous) {
    console.log(`No earlier ${kind} result to compare with.`);
  } else {
    const before = JSON.parse(readFileSync(`${dir}/${previous}`, "utf8")) as typeof record;
    console.log(`\nRatios now against ${previous}:\n`);
    for (const [runtime, ops] of Object.entries(record.ratios)) {
      for (const [op, row] of Object.entries(ops)) {
        for (const [name, value] of Object.entries(row)) {
          const old = before.ratios[runtime]?.[op]?.[name];
          if (old === undefined) continue;
          const change = (value / old - 1) * 100;
          console.log(
            `${runtime} | ${op} | ${name}: ${old.toFixed(2)} → ${value.toFixed(2)} (${change >= 0 ? "+" : ""}${
              change.toFixed(0)
            }%)`,
          );
        }
      }
    }
  }
}
