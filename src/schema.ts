/**
 * Versioned schema: an ordered list of migration steps run in one
 * `BEGIN IMMEDIATE` transaction, with the version recorded per table in the
 * `kvsqlite_meta` table. FORMAT.md describes every version.
 *
 * @module
 */

import type { Driver } from "./driver.ts";
import { KvReadOnlyError, KvSchemaError } from "./errors.ts";
import { quoteName } from "./keys.ts";

/** The schema version this library writes. */
export const SCHEMA_VERSION = 1;

/** The table that records the schema version of every kvsqlite table in the file. */
export const META_TABLE = "kvsqlite_meta";

/** The SQL that creates one key table (the root table or a namespace) at the current version. */
export function createTableSql(table: string): string {
  const t = quoteName(table);
  return `CREATE TABLE IF NOT EXISTS ${t} (
  k TEXT PRIMARY KEY NOT NULL,
  v BLOB,
  kind INTEGER NOT NULL DEFAULT 0,
  expire_time INTEGER,
  version INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
${expireIndexSql(table)}`;
}

function expireIndexSql(table: string): string {
  return `CREATE INDEX IF NOT EXISTS ${quoteName(`${table}.expire_time`)} ON ${
    quoteName(table)
  } (expire_time) WHERE expire_time IS NOT NULL;`;
}

function columnsOf(driver: Driver, table: string): string[] {
  const st = driver.prepare(`SELECT name FROM pragma_table_info(?)`);
  try {
    return st.all([table]).map((row) => String(row[0]));
  } finally {
    st.finalize();
  }
}

function storedVersion(driver: Driver, table: string): number | undefined {
  const exists = driver.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`);
  try {
    if (!exists.get([META_TABLE])) return undefined;
  } finally {
    exists.finalize();
  }
  const st = driver.prepare(`SELECT version FROM ${quoteName(META_TABLE)} WHERE name = ?`);
  try {
    const row = st.get([table]);
    return row === undefined ? undefined : Number(row[0]);
  } finally {
    st.finalize();
  }
}

/**
 * Version 0 is "no kvsqlite table yet": either nothing, or a table left by
 * the Python Kvsqlite (`k VARCHAR(4096) PRIMARY KEY, v BLOB`, perhaps with its
 * own `expire_time` in seconds), which is adopted in place.
 */
function migrateTo1(driver: Driver, table: string): void {
  const columns = columnsOf(driver, table);
  if (columns.length === 0) {
    driver.exec(createTableSql(table));
    return;
  }
  if (!columns.includes("k") || !columns.includes("v")) {
    throw new KvSchemaError(
      `Cannot open table ${JSON.stringify(table)}: it exists but has no k and v columns (found ${columns.join(", ")})`,
    );
  }
  const t = quoteName(table);
  if (columns.includes("expire_time")) {
    // Kvsqlite counted expiry in seconds; kvsqlite counts in milliseconds.
    driver.exec(`UPDATE ${t} SET expire_time = CAST(expire_time * 1000 AS INTEGER) WHERE expire_time IS NOT NULL`);
  } else {
    driver.exec(`ALTER TABLE ${t} ADD COLUMN expire_time INTEGER`);
  }
  if (!columns.includes("kind")) driver.exec(`ALTER TABLE ${t} ADD COLUMN kind INTEGER NOT NULL DEFAULT 0`);
  if (!columns.includes("version")) driver.exec(`ALTER TABLE ${t} ADD COLUMN version INTEGER NOT NULL DEFAULT 0`);
  driver.exec(expireIndexSql(table));
}

const MIGRATIONS: ((driver: Driver, table: string) => void)[] = [migrateTo1];

/**
 * Brings `table` to {@link SCHEMA_VERSION}. Reads first so that an up-to-date
 * file takes no write lock; otherwise takes `BEGIN IMMEDIATE`, reads the
 * version again (another process may have migrated meanwhile) and runs the
 * missing steps.
 */
export function migrate(driver: Driver, table: string, readOnly: boolean): void {
  const seen = storedVersion(driver, table) ?? 0;
  checkNotNewer(seen, table);
  if (seen === SCHEMA_VERSION) return;
  if (readOnly) {
    throw new KvReadOnlyError(
      `Cannot open table ${
        JSON.stringify(table)
      } read-only: its schema is at version ${seen} and needs migrating to ${SCHEMA_VERSION}`,
    );
  }
  driver.exec("BEGIN IMMEDIATE");
  try {
    const current = storedVersion(driver, table) ?? 0;
    checkNotNewer(current, table);
    for (let v = current; v < SCHEMA_VERSION; v++) MIGRATIONS[v]!(driver, table);
    if (current !== SCHEMA_VERSION) {
      driver.exec(
        `CREATE TABLE IF NOT EXISTS ${
          quoteName(META_TABLE)
        } (name TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL)`,
      );
      const st = driver.prepare(
        `INSERT INTO ${
          quoteName(META_TABLE)
        } (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version`,
      );
      try {
        st.run([table, SCHEMA_VERSION]);
      } finally {
        st.finalize();
      }
    }
    driver.exec("COMMIT");
  } catch (error) {
    driver.exec("ROLLBACK");
    throw error;
  }
}

function checkNotNewer(version: number, table: string): void {
  if (version > SCHEMA_VERSION) {
    throw new KvSchemaError(
      `Cannot open table ${
        JSON.stringify(table)
      }: its schema version ${version} is newer than this library's ${SCHEMA_VERSION}; upgrade kvsqlite`,
    );
  }
}
