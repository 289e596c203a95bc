import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Driver, SqlRow, SqlValue } from "../src/driver.ts";

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
