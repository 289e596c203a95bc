/**
 * The maintenance calls of an open file: vacuum (whole or incremental), the
 * integrity check and backups (checkpoints are `checkpoint.ts`'s). `Kv` checks that the store
 * is open and hands the connection over.
 *
 * @module
 */

import { backupTo } from "./backup.ts";
import type { Connection } from "./connection.ts";
import { KvCorruptError, KvError } from "./errors.ts";
import { booleanOption, checkOptions, typeName } from "./check.ts";

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
