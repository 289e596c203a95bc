/** What every runtime's runner shares: arguments, the data folder, output. */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS } from "../src/options.ts";
import { rawPragmas } from "./subjects.ts";
import { fill, type OpResult, runWorkload, type Subject } from "./workload.ts";
import { runScale, type ScaleReport } from "./scale.ts";
import type { Kv } from "../src/kv.ts";
import type { RawDatabase } from "./subjects.ts";
import { rawSubject } from "./subjects.ts";

const proc = (globalThis as unknown as { process: { argv: string[]; env: Record<string, string | undefined> } })
  .process;

export const quick = proc.argv.includes("--quick");
const scaleArg = proc.argv.find((a) => a.startsWith("--scale="));

export const settings = {
  keys: 10_000,
  rounds: quick ? 3 : 5,
  slice: quick ? 40 : 250,
  deletePool: quick ? 5_000 : 40_000,
  /** `--only=<op>,<op>`: run only these operations of the workload, and no scale part. */
  only: proc.argv.find((a) => a.startsWith("--only="))?.slice(7).split(","),
  /** The store sizes of the scale part: 10k and 1M (quick: 100k); `--scale=N` sets the largest. */
  sizes: [10_000, scaleArg ? Number(scaleArg.slice(8)) : quick ? 100_000 : 1_000_000],
};

/** The pragmas kvsqlite opens with, for the raw driver to match. */
export const PRAGMAS = rawPragmas(DEFAULTS.mmapSize, DEFAULTS.cacheSize);

export const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-"));

export function cleanup(): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface RuntimeReport {
  runtime: string;
  version: string;
  quick: boolean;
  settings: typeof settings;
  subjects: { name: string; role: Subject["role"]; driver: string }[];
  results: OpResult[];
  scale: ScaleReport[];
  notes: string[];
}

/** Prints the report as one JSON line on stdout. */
export function emit(report: RuntimeReport): void {
  console.log(JSON.stringify(report));
}

export function describe(subjects: Subject[]): RuntimeReport["subjects"] {
  return subjects.map((s) => ({ name: s.name, role: s.role, driver: s.driver }));
}

/** How one runtime's runner describes itself; the rest is the same everywhere. */
export interface RunnerSpec {
  runtime: string;
  version: string;
  subjects: Subject[];
  notes: string[];
  /** The driver of the scale part, and how to open kvsqlite and the raw driver on it. */
  scale: {
    driver: string;
    openKv(path: string, options?: { now: () => number }): Kv;
    openRaw(path: string): RawDatabase;
  };
}

/** Fills, runs the workload and the scale part, prints the report and removes the files. */
export async function runRunner(spec: RunnerSpec): Promise<void> {
  const { subjects, scale } = spec;
  await fill(subjects, settings.keys);
  const results = await runWorkload(subjects, settings);
  for (const s of subjects) await s.close();
  const report = settings.only ? undefined : await runScale(
    scale.driver,
    (path, now) => scale.openKv(path, now ? { now } : undefined),
    (path) => rawSubject("raw", scale.driver, scale.openRaw(path), PRAGMAS),
    dir,
    settings.sizes,
    { rounds: settings.rounds, slice: settings.slice },
  );
  emit({
    runtime: spec.runtime,
    version: spec.version,
    quick,
    settings,
    subjects: describe(subjects),
    results,
    scale: report ? [report] : [],
    notes: spec.notes,
  });
  cleanup();
}
