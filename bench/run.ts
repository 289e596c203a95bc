/**
 * `npm run bench [-- --quick]`: runs bench/bench.ts on Node, Bun and Deno,
 * prints one table per runtime and driver, and writes the results as JSON
 * under bench/results/.
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string) => `${root}node_modules/.bin/${name}`;
const quick = process.argv.includes("--quick");
const extra = quick ? ["--quick"] : [];
const runs: [string, string[]][] = [
  [bin("node"), ["bench/bench.ts", ...extra]],
  [bin("bun"), ["bench/bench.ts", ...extra]],
  [bin("deno"), ["run", "-A", "bench/bench.ts", ...extra]],
];

interface Line {
  runtime: string;
  version: string;
  driver: string;
  results: { op: string; kvsqlite: number; raw: number; ratio: number }[];
}

const lines: Line[] = [];
for (const [command, args] of runs) {
  const r = spawnSync(command, args, { cwd: root, encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.error(`${command} ${args.join(" ")} failed:\n${r.stderr}`);
    process.exit(1);
  }
  if (r.stderr.trim()) console.error(r.stderr.trim());
  for (const line of r.stdout.trim().split("\n")) lines.push(JSON.parse(line));
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
for (const l of lines) {
  console.log(`\n${l.runtime} ${l.version}, ${l.driver}${quick ? " (quick)" : ""}\n`);
  console.log("| operation | kvsqlite ops/s | raw driver ops/s | kvsqlite / raw |");
  console.log("|---|---:|---:|---:|");
  for (const r of l.results) console.log(`| ${r.op} | ${fmt(r.kvsqlite)} | ${fmt(r.raw)} | ${r.ratio.toFixed(2)} |`);
}
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
console.log(`\nmachine: ${machine}`);
mkdirSync(`${root}bench/results`, { recursive: true });
const file = `${root}bench/results/${new Date().toISOString().replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`;
writeFileSync(file, JSON.stringify({ machine, quick, lines }, null, 2));
console.log(`results: ${file.slice(root.length)}`);
