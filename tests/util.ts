import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Driver, SqlRow, SqlValue } from "../src/driver.ts";
import type { Target } from "./harness.ts";

const made: string[] = [];

/** A new empty folder under the system temp folder. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kvsqlite-test-"));
  made.push(dir);
  return dir;
}

/** A path for a database file in a new folder. */
export function tempFile(name = "test.db"): string {
  return join(tempDir(), name);
}

export function cleanup(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A clock the tests move by hand. */
export function manualClock(
  start = 1_700_000_000_000,
): { now: () => number; advance(ms: number): void; set(t: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (v) => void (t = v) };
}

/** Runs one query on a raw connection and closes it. */
export function rawAll(raw: (path: string) => Driver, path: string, sql: string, ...params: SqlValue[]): SqlRow[] {
  const d = raw(path);
  try {
    const st = d.prepare(sql);
    try {
      return st.all(params);
    } finally {
      st.finalize();
    }
  } finally {
    d.close();
  }
}

/** Runs statements on a raw connection and closes it. */
export function rawExec(raw: (path: string) => Driver, path: string, sql: string): void {
  const d = raw(path);
  try {
    d.exec(sql);
  } finally {
    d.close();
  }
}

/** The tag rows of a table, [tag, key], read on a raw connection (or the target's own way, where it has no file). */
export function tagRows(t: Target, path: string, table = "kv"): SqlRow[] | Promise<unknown[][]> {
  if (t.tagRows !== undefined) return t.tagRows(path, table);
  return rawAll(t.raw, path, `SELECT tag, k FROM "kvsqlite_tags/${table}" ORDER BY tag, k`);
}

/** An array nested `depth` levels deep around `leaf`. */
export function nested(depth: number, leaf: unknown = "leaf"): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** How deep `nested` built a value (iteratively, so that it never overflows). */
export function depthOf(value: unknown): number {
  let d = 0;
  while (Array.isArray(value)) {
    value = value[0];
    d++;
  }
  return d;
}

/** Why this process cannot mount a tmpfs, or undefined when it can. */
function whyCannotMount(): string | undefined {
  const p = globalThis as { process?: { platform?: string; getuid?: () => number } };
  if (p.process?.platform !== "linux") return "mounting a tmpfs needs Linux";
  if (p.process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  return undefined;
}

let mountRefusal: [string | undefined] | undefined;

/**
 * Why this process cannot mount a tmpfs, or undefined when it can: worked out
 * once, at the first call (not at import, as a worker under narrow Deno
 * permissions imports this file too). A test that needs a tmpfs registers
 * itself with `{ skip: cannotMount() }`, so that a report never counts it as
 * passed when it could not run.
 */
export function cannotMount(): string | undefined {
  mountRefusal ??= [whyCannotMount()];
  return mountRefusal[0];
}

/** Mounts a tmpfs of `size` (e.g. "1m") on a new folder; returns the folder and how to unmount it. */
export function mountTmpfs(size: string): { dir: string; readOnly(): void; unmount(): void } {
  const dir = join(tempDir(), "mnt");
  mkdirSync(dir);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  return {
    dir,
    readOnly: () => void execFileSync("mount", ["-o", "remount,ro", dir]),
    unmount: () => void execFileSync("umount", ["-l", dir]),
  };
}

/**
 * Awaits `p` with a timer keeping the event loop alive: a watch waiting for
 * a change never keeps a process alive (by design), and Deno's test runner
 * fails a test whose promise waits on nothing referenced.
 */
export async function held<T>(p: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(timer);
  }
}
