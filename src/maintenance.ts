/**
 * The maintenance calls of an open file: WAL checkpoints, vacuum (whole or
 * incremental), the integrity check and backups. `Kv` checks that the store
 * is open and hands the connection over.
 *
 * @module
 */

import { backupTo } from "./backup.ts";
import type { Connection } from "./connection.ts";
import { KvCorruptError, KvError } from "./errors.ts";
import { booleanOption, checkOptions, typeName } from "./check.ts";

/** What {@link checkpoint} reports (SQLite's `wal_checkpoint` row). */
export interface CheckpointResult {
  /** Whether another connection kept the checkpoint from finishing. */
  busy: boolean;
  /** Frames in the WAL, or -1 when the database is not in WAL mode. */
  logFrames: number;
  /** Frames moved into the database file, or -1 when not in WAL mode. */
  checkpointedFrames: number;
}

/** A WAL checkpoint mode, as SQLite names them. */
export type CheckpointMode = "passive" | "full" | "restart" | "truncate";

const CHECKPOINT_MODES = ["passive", "full", "restart", "truncate"];

/** Checkpoints the WAL into the database file, committing a batch first so that the checkpoint can move it. */
export function checkpoint(conn: Connection, mode: CheckpointMode): CheckpointResult {
  if (!CHECKPOINT_MODES.includes(mode)) {
    throw new RangeError(
      `Cannot checkpoint: mode must be one of ${CHECKPOINT_MODES.join(", ")}, received ${typeName(mode)}`,
    );
  }
  if (conn.depth === 0) conn.batch?.flush();
  const row = conn.prepare(`PRAGMA wal_checkpoint(${mode.toUpperCase()})`).get([])!;
  conn.counters.checkpoints++;
  return { busy: row[0] !== 0, logFrames: Number(row[1]), checkpointedFrames: Number(row[2]) };
}

/** Reclaims free pages: the whole file, or at most `pages` of them on a file created with `autoVacuum: "incremental"`. */
export function vacuum(conn: Connection, options: { pages?: number } | undefined): void {
  checkOptions(options, ["pages"], "vacuum");
  const pages = options?.pages;
  if (pages !== undefined && (typeof pages !== "number" || !Number.isSafeInteger(pages) || pages < 1)) {
    throw new RangeError(`Cannot vacuum: pages must be a whole number >= 1, received ${typeName(pages)}`);
  }
  if (conn.depth > 0) throw new KvError("Cannot vacuum: a transaction is open");
  conn.batch?.flush();
  conn.checkWrite("vacuum", false);
  if (pages === undefined) return conn.exec("VACUUM");
  if (Number(conn.prepare("PRAGMA auto_vacuum").get([])![0]) !== 2) {
    throw new TypeError('Cannot vacuum: pages needs a file created with autoVacuum: "incremental"');
  }
  // incremental_vacuum(N) frees one page per step, and the drivers step a
  // statement that returns no columns differently (once, or to the end; one
  // refuses all()); incremental_vacuum(1) frees one page in one step.
  // exec() leaves no statement in progress (libsql would refuse the COMMIT).
  conn.atomic(() => {
    for (let i = 0; i < pages; i++) conn.exec("PRAGMA incremental_vacuum(1)");
  });
}

/** Runs `PRAGMA integrity_check`; a damaged file is a {@link KvCorruptError}, and nothing more is written to it. */
export function integrityCheck(conn: Connection): void {
  const rows = conn.prepare("PRAGMA integrity_check").all([]);
  const report = rows.map((row) => String(row[0]));
  if (report.length !== 1 || report[0] !== "ok") {
    conn.damaged = true;
    throw new KvCorruptError(`The database file is damaged: ${report.join("; ")}`);
  }
}

/** Writes a consistent copy of the file to `path`, committing a batch first. */
export function backup(conn: Connection, path: unknown, options: { overwrite?: boolean } | undefined): void {
  checkOptions(options, ["overwrite"], "back up");
  const overwrite = booleanOption(options, "overwrite", "back up");
  if (typeof path !== "string") {
    throw new TypeError(`Cannot back up: path must be a string, received ${typeName(path)}`);
  }
  if (path === "" || path === ":memory:") {
    throw new RangeError(`Cannot back up: path must name a file, received ${typeName(path)}`);
  }
  if (conn.depth > 0) throw new KvError("Cannot back up: a transaction is open");
  conn.batch?.flush();
  backupTo(conn, path, overwrite);
}
