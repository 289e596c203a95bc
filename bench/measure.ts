/**
 * How every benchmark here measures. A ratio such as kvsqlite ÷ raw is only
 * worth something on a shared, noisy machine when both sides are measured in
 * the same process, in alternating slices, and the order rotates from round to
 * round so that drift falls on every subject alike; the table then shows the
 * median of the rounds. That harness is ours: `rate` / `rateAsync` time one
 * slice, `rotate` runs the rounds, `roundMedians` does both and keeps the
 * medians.
 *
 * Single calls that cannot be repeated in a loop (a purge, a delete by tag:
 * each needs fresh data, made untimed before it) are timed by mitata
 * (`timeEach`), which warms the call up, collects garbage before timing, and
 * keeps the per-call samples.
 */

import { measure } from "mitata";

/** The middle value (of two, the upper one). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** How one slice calls its step. */
export interface SliceOptions {
  /** Calls between two looks at the clock. @default 16 */
  chunk?: number;
  /** The index passed to the first call. @default 0 */
  from?: number;
  /** Stop after about this many calls even if time is left (the slice overshoots it by less than `chunk`). */
  limit?: number;
}

/** Calls `step(i)` with i = from, from + 1, … for about `ms` milliseconds; returns calls per second. */
export function rate(step: (i: number) => unknown, ms: number, options: SliceOptions = {}): number {
  const { chunk = 16, from = 0, limit = Infinity } = options;
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms && calls < limit) {
    for (let j = 0; j < chunk; j++) step(from + calls++);
    now = performance.now();
  }
  return calls / ((now - start) / 1000);
}

/** `rate` for a step that returns a promise: each call is awaited before the next. */
export async function rateAsync(step: (i: number) => unknown, ms: number, options: SliceOptions = {}): Promise<number> {
  const { chunk = 16, from = 0, limit = Infinity } = options;
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms && calls < limit) {
    for (let j = 0; j < chunk; j++) await step(from + calls++);
    now = performance.now();
  }
  return calls / ((now - start) / 1000);
}

/**
 * Visits every subject once per round; round r starts at subject r (mod the
 * count) and goes on in order. With `warmup`, a round -1 comes first, in the
 * given order, for the caller to drop.
 */
export async function rotate<S>(
  subjects: readonly S[],
  rounds: number,
  visit: (subject: S, round: number, index: number) => unknown,
  options: { warmup?: boolean } = {},
): Promise<void> {
  for (let round = options.warmup ? -1 : 0; round < rounds; round++) {
    for (let j = 0; j < subjects.length; j++) {
      const index = (j + Math.max(round, 0)) % subjects.length;
      await visit(subjects[index]!, round, index);
    }
  }
}

/**
 * Runs `slice` for every subject in rotating rounds (`rotate`) and returns
 * each subject's median result, in the subjects' order; a warm-up round's
 * results are dropped.
 */
export async function roundMedians<S>(
  subjects: readonly S[],
  rounds: number,
  slice: (subject: S, round: number) => number | Promise<number>,
  options: { warmup?: boolean } = {},
): Promise<Map<S, number>> {
  const results = subjects.map((): number[] => []);
  await rotate(subjects, rounds, async (subject, round, index) => {
    const result = await slice(subject, round);
    if (round >= 0) results[index]!.push(result);
  }, options);
  return new Map(subjects.map((subject, index) => [subject, median(results[index]!)]));
}

/**
 * Times `samples` single calls of `run` with mitata and returns the median
 * call in milliseconds. `prepare` runs untimed before each call, warm-up calls
 * included, and hands the call its argument. mitata makes one warm-up call
 * (three when a call takes under 0.5 ms) and collects garbage before the timed
 * calls (`Bun.gc`, `gc` where the runtime exposes it, else a large allocation
 * that prompts one); calls are never batched, so each one gets fresh data.
 * At most 12 samples: mitata drops the extremes of larger sets.
 */
export async function timeEach<T>(prepare: () => T, run: (prepared: T) => unknown, samples: number): Promise<number> {
  const stats = await measure(function* () {
    // mitata's computed parameter (`0`), which its types do not describe; it
    // passes one only to a function that declares a parameter.
    yield { 0: prepare, bench: (prepared: T) => run(prepared) } as unknown as () => unknown;
  }, { min_samples: samples, max_samples: samples, min_cpu_time: 0, batch_threshold: -1 });
  if (stats.samples.length !== samples) throw new Error(`mitata took ${stats.samples.length} samples, not ${samples}`);
  return stats.p50 / 1e6;
}

/** The runtime this benchmark runs on and its version, for report titles ("node 24.21.0"). */
export function runtimeLabel(): string {
  const g = globalThis as {
    Bun?: { version: string };
    Deno?: { version: { deno: string } };
    process?: { versions: { node: string } };
  };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${g.process?.versions.node}`;
}
