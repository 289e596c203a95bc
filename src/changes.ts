/**
 * The change feed (`changeFeed: true`, per file): a log of every write to the
 * file's key tables, written by triggers in the same transaction as the write
 * (so a write rolled back leaves no entry, and a process that does not know
 * about the feed logs its writes too), read with `kv.changes({ since })`.
 * Retention by rows or by age is kept by a trigger on the log; a cursor older
 * than what the log holds is `KvChangesGapError`, never a silent skip. A file
 * without the feed has none of these tables or triggers and pays nothing.
 * FORMAT.md describes the tables.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { Driver, SqlRow, SqlValue } from "./driver.ts";
import { checkInteger, checkOptions, typeName } from "./check.ts";
import { KvChangesGapError, KvError, KvReadOnlyError } from "./errors.ts";
import { quoteName } from "./names.ts";

/** The log of changes. */
export const CHANGES = "kvsqlite_changes";
/** Its one-row settings: retention, and whether the deletes now are of expired keys. */
export const CHANGES_CONFIG = "kvsqlite_changes_config";

/** One entry of the change feed. */
export interface KvChange {
  /** Its place in the file's log: strictly increasing, never reused. Pass the last one seen as `since`. */
  seq: number;
  /** The key written. */
  key: string;
  /** `"set"` (written, or its expiry changed), `"delete"`, or `"expire"` (an expired key purged). */
  op: "set" | "delete" | "expire";
  /** The key's version after a set, or the version it had when it was deleted or expired. */
  version: number;
}

/** How much of the log to keep: at most `rows` entries (give or take 255), and entries younger than `ms`. */
export interface ChangeFeedRetention {
  /** Keep about this many entries. */
  rows?: number;
  /** Keep entries written within this many ms (by the writers' clocks). */
  ms?: number;
}

/** Options of `changes()`. */
export interface ChangesOptions {
  /** The `seq` of the last change already seen; omitted: from the oldest change the log holds. */
  since?: number;
  /** At most this many changes. @default 1000 */
  limit?: number;
}

/** A string as an SQL literal (for the table name a trigger writes into the log). */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const LOG = quoteName(CHANGES);
const CONFIG = quoteName(CHANGES_CONFIG);

/** The log and its settings. */
function logSql(): string {
  return `CREATE TABLE IF NOT EXISTS ${LOG} (
  seq INTEGER PRIMARY KEY,
  tbl TEXT NOT NULL,
  k TEXT NOT NULL,
  op TEXT NOT NULL,
  version INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ${CONFIG} (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  rows INTEGER,
  ms INTEGER,
  expiring INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO ${CONFIG} (id) VALUES (1);`;
}

const RETENTION = quoteName(`${CHANGES}/retention`);

/**
 * The trigger that keeps the retention (every 256th entry looks), there only
 * while a retention is set: a log kept whole pays nothing for it.
 */
function retentionSql(retention: ChangeFeedRetention): string {
  if (retention.rows === undefined && retention.ms === undefined) return `DROP TRIGGER IF EXISTS ${RETENTION};`;
  return `DROP TRIGGER IF EXISTS ${RETENTION};
CREATE TRIGGER ${RETENTION} AFTER INSERT ON ${LOG} WHEN NEW.seq % 256 = 0 BEGIN
  DELETE FROM ${LOG} WHERE seq <= NEW.seq - (SELECT rows FROM ${CONFIG});
  DELETE FROM ${LOG} WHERE seq IN (SELECT seq FROM ${LOG} WHERE seq < NEW.seq ORDER BY seq LIMIT 512)
    AND at < NEW.at - (SELECT ms FROM ${CONFIG});
END;`;
}

/**
 * The triggers that log the writes of key table `table`. A write's time is
 * its version's (ms * 1024 + a counter, from the writer's clock); a delete
 * takes the later of the deleted version's and the log's newest.
 */
export function triggersSql(table: string): string {
  const t = quoteName(table);
  const tbl = literal(table);
  const name = (what: string) => quoteName(`${CHANGES}/${table}/${what}`);
  const insert = `INSERT INTO ${LOG} (tbl, k, op, version, at)`;
  return `CREATE TRIGGER IF NOT EXISTS ${name("insert")} AFTER INSERT ON ${t} BEGIN
  ${insert} VALUES (${tbl}, NEW.k, 'set', NEW.version, NEW.version / 1024);
END;
CREATE TRIGGER IF NOT EXISTS ${name("update")} AFTER UPDATE OF k, v, kind, expire_time, version ON ${t} BEGIN
  ${insert} VALUES (${tbl}, NEW.k, 'set', NEW.version, NEW.version / 1024);
END;
CREATE TRIGGER IF NOT EXISTS ${name("rename")} AFTER UPDATE OF k ON ${t} WHEN NEW.k IS NOT OLD.k BEGIN
  ${insert} VALUES (${tbl}, OLD.k, 'delete', OLD.version, NEW.version / 1024);
END;
CREATE TRIGGER IF NOT EXISTS ${name("delete")} AFTER DELETE ON ${t} BEGIN
  ${insert} VALUES (${tbl}, OLD.k, CASE (SELECT expiring FROM ${CONFIG}) WHEN 1 THEN 'expire' ELSE 'delete' END,
    OLD.version, max(OLD.version / 1024, coalesce((SELECT at FROM ${LOG} ORDER BY seq DESC LIMIT 1), 0)));
END;`;
}

function one(driver: Driver, sql: string, params: SqlValue[]): SqlRow | undefined {
  const st = driver.prepare(sql);
  try {
    return st.get(params);
  } finally {
    st.finalize();
  }
}

/** Whether the file has the change feed. */
export function hasFeed(driver: Driver): boolean {
  return one(driver, `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, [CHANGES]) !== undefined;
}

/** Checks the `changeFeedRetention` option. */
export function checkRetention(value: unknown): ChangeFeedRetention | undefined {
  if (value === undefined) return undefined;
  const what = "open store";
  checkOptions(value, ["rows", "ms"], what);
  const r = value as Record<string, unknown>;
  const rows = checkInteger(r.rows, "changeFeedRetention.rows", 1, what);
  const ms = checkInteger(r.ms, "changeFeedRetention.ms", 1, what);
  return { ...(rows === undefined ? {} : { rows }), ...(ms === undefined ? {} : { ms }) };
}

/**
 * Opens the feed of a store's file: with `enable`, creates the log (once per
 * file) and sets `retention` if given; when the file has the feed, makes sure
 * `table` and its namespaces log their writes. Returns whether the file has it.
 */
export function openFeed(
  driver: Driver,
  table: string,
  enable: boolean,
  retention: ChangeFeedRetention | undefined,
  readOnly: boolean,
): boolean {
  const present = hasFeed(driver);
  if (!present && !enable) return false;
  if (readOnly) {
    if (!present) {
      throw new KvReadOnlyError("Cannot open store: changeFeed creates the change log, which a read-only store cannot");
    }
    return true;
  }
  const logged = one(driver, `SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?`, [
    `${CHANGES}/${table}/insert`,
  ]);
  if (present && logged !== undefined && retention === undefined) return true;
  driver.exec("BEGIN IMMEDIATE");
  try {
    driver.exec(logSql());
    const st = driver.prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND (name = ? OR (name > ? AND name < ?))`,
    );
    let tables: SqlRow[];
    try {
      tables = st.all([table, `${table}/`, `${table}0`]);
    } finally {
      st.finalize();
    }
    for (const [name] of tables) driver.exec(triggersSql(String(name)));
    if (retention !== undefined) {
      const set = driver.prepare(`UPDATE ${CONFIG} SET rows = ?, ms = ? WHERE id = 1`);
      try {
        set.run([retention.rows ?? null, retention.ms ?? null]);
      } finally {
        set.finalize();
      }
      driver.exec(retentionSql(retention));
    }
    driver.exec("COMMIT");
  } catch (error) {
    driver.exec("ROLLBACK");
    throw error;
  }
  return true;
}

/**
 * Runs `purge` with the log told that its deletes are of expired keys (op
 * `"expire"`), inside the caller's transaction.
 */
export function asExpiry<T>(conn: Connection, purge: () => T): T {
  if (!conn.changeFeed) return purge();
  conn.prepare(`UPDATE ${CONFIG} SET expiring = 1`).run([]);
  try {
    return purge();
  } finally {
    conn.prepare(`UPDATE ${CONFIG} SET expiring = 0`).run([]);
  }
}

/** `changes()` of key table `table`. */
export function readChanges(conn: Connection, table: string, options: ChangesOptions | undefined): KvChange[] {
  const what = "read changes";
  checkOptions(options, ["since", "limit"], what);
  const since = options?.since;
  if (since !== undefined && (typeof since !== "number" || !Number.isSafeInteger(since) || since < 0)) {
    throw new (typeof since === "number" ? RangeError : TypeError)(
      `Cannot ${what}: since must be a seq (a whole number >= 0), received ${typeName(since)}`,
    );
  }
  const limit = checkInteger(options?.limit, "limit", 0, what) ?? 1000;
  if (!conn.changeFeed) {
    throw new KvError(`Cannot ${what}: the file has no change feed; open it once with { changeFeed: true }`);
  }
  const oldest = conn.prepare(`SELECT min(seq) FROM ${LOG}`).get([])![0];
  if (since !== undefined && oldest !== null && since < Number(oldest) - 1) {
    throw new KvChangesGapError(
      `Cannot ${what}: the changes after seq ${since} are no longer in the log, which starts at seq ${oldest} (changeFeedRetention); read the store again, then follow from the newest seq`,
    );
  }
  if (limit === 0) return [];
  const rows = conn.prepare(`SELECT seq, k, op, version FROM ${LOG} WHERE seq > ? AND tbl = ? ORDER BY seq LIMIT ?`)
    .all([since ?? 0, table, limit]);
  return rows.map((r) => ({
    seq: Number(r[0]),
    key: r[1] as string,
    op: r[2] as KvChange["op"],
    version: Number(r[3]),
  }));
}
