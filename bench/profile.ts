/**
 * Where a CPU profile's time goes, by part: `node bench/profile.ts <file.cpuprofile>`
 * for a profile written by `node --cpu-prof` or `bun --cpu-prof` (the same
 * format), for example of `bench/batched.ts --only=batched`. Each sample is
 * given to the first part that claims it:
 *
 * - **commit**: under the batch's commit (`#commit` of src/batch.ts): the
 *   `COMMIT` that writes the batch's pages to the WAL, and its `BEGIN`;
 * - **statements**: in the driver (a native frame, or the adapter's own
 *   function, to which Node attributes the native call's time);
 * - **kvsqlite**: in src/ (key checks, the codec, versions, the batch);
 * - **idle**, **other** (the caller, the runtime, garbage collection).
 *
 * Prints each part's share, then the 15 functions with the most self time.
 */

import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

const file = (globalThis as unknown as { process: { argv: string[] } }).process.argv[2];
if (file === undefined) throw new TypeError("usage: node bench/profile.ts <file.cpuprofile>");
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const NATIVE = new Set(["values", "run", "get", "all", "exec", "iterate"]);
function part(leaf: number): string {
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === "#commit" && f.url.endsWith("src/batch.ts")) return "commit";
  }
  const f = byId.get(leaf)!.callFrame;
  if (f.url.includes("/adapters/") || (f.url === "" && NATIVE.has(f.functionName))) return "statements";
  if (f.url.includes("/src/")) return "kvsqlite";
  if (f.functionName === "(idle)") return "idle";
  return "other";
}

const parts = new Map<string, number>();
const self = new Map<string, number>();
for (const id of profile.samples) {
  const p = part(id);
  parts.set(p, (parts.get(p) ?? 0) + 1);
  const f = byId.get(id)!.callFrame;
  const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
  self.set(name, (self.get(name) ?? 0) + 1);
}
const total = profile.samples.length;
const pct = (n: number) => `${(100 * n / total).toFixed(1)}%`;
console.log(`${total} samples`);
for (const p of ["commit", "statements", "kvsqlite", "idle", "other"]) {
  console.log(`${p.padEnd(12)}${pct(parts.get(p) ?? 0)}`);
}
console.log("\nself time:");
for (const [name, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`${pct(n).padStart(7)}  ${name}`);
}
