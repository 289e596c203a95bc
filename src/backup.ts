/**
 * `kv.backup()`: a consistent copy of the whole file while the store stays
 * open, into a path whose folders are created, never over an existing file
 * unless asked.
 *
 * @module
 */

import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Connection } from "./connection.ts";
import { KvError } from "./errors.ts";
import { checkpoint } from "./checkpoint.ts";

/**
 * Writes the copy. `VACUUM INTO` (a compact copy) where SQLite may attach the
 * target; where it may not (Deno's `node:sqlite` refuses ATTACH unless run with
 * `-A`), the file itself is copied under a read snapshot taken just after a
 * truncating checkpoint: no checkpoint can then change the file until the copy
 * is done, so it is consistent and needs only read and write permission on the
 * two folders. The copy is written beside the target and renamed over it.
 */
export function backupTo(conn: Connection, path: string, overwrite: boolean): void {
  if (!overwrite && existsSync(path)) {
    throw new KvError(
      `Cannot back up to ${JSON.stringify(path)}: the file exists; pass { overwrite: true } to replace it`,
    );
  }
  mkdirSync(dirname(path), { recursive: true });
  const partial = join(dirname(path), `.${Date.now()}-${Math.random().toString(36).slice(2)}.kvsqlite-backup`);
  try {
    try {
      conn.prepare("VACUUM INTO ?").run([partial]);
    } catch (error) {
      if (!/attached databases/i.test((error as Error).message) || conn.path === ":memory:") throw error;
      copyUnderSnapshot(conn, partial);
    }
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
}

function copyUnderSnapshot(conn: Connection, target: string): void {
  if (checkpoint(conn, "truncate").busy) {
    throw new KvError(
      `Cannot back up ${JSON.stringify(conn.path)}: another connection (a reader on an older snapshot, such as ` +
        "Litestream, or a writer) kept the checkpoint from finishing",
    );
  }
  conn.exec("BEGIN");
  try {
    conn.prepare("SELECT count(*) FROM sqlite_master").get([]); // takes the snapshot
    copyFileSync(conn.path, target);
  } finally {
    conn.exec("COMMIT");
  }
}
