/**
 * Versioned schema: an ordered list of migration steps run in one
 * `BEGIN IMMEDIATE` transaction, with the version recorded per table in the
 * `kvsqlite_meta` table. FORMAT.md describes every version.
 *
 * @module
 */

import type { Driver, SqlRow, SqlValue } from "./driver.ts";
import { KvReadOnlyError, KvSchemaError } from "./errors.ts";
import { quoteName } from "./names.ts";

/** The schema version this library writes. */
export const SCHEMA_VERSION = 2;

/** The table that records the schema version of every kvsqlite table in the file. */
export const META_TABLE = "kvsqlite_meta";

/**
 * The tag table of a key table: outside the name range `table/...` of its
 * namespaces, and out of reach of a user's table name (`kvsqlite_` is reserved).
 */
export function tagTableName(table: string): string {
  return `kvsqlite_tags/${table}`;
}

function tagTableSql(table: string): string {
  const tags = tagTableName(table);
  return `CREATE TABLE IF NOT EXISTS ${quoteName(tags)} (
  tag TEXT NOT NULL,
  k TEXT NOT NULL,
  PRIMARY KEY (tag, k)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ${quoteName(`${tags}.k`)} ON ${quoteName(tags)} (k);`;
}

/** The SQL that creates one key table (the root table or a namespace) at the current version. */
export function createTableSql(table: string): string {
  const t = quoteName(table);
  return `CREATE TABLE IF NOT EXISTS ${t} (
  k TEXT PRIMARY KEY NOT NULL,
  v BLOB,
  kind INTEGER NOT NULL DEFAULT 0,
  expire_time INTEGER,
  version INTEGER NOT NULL DEFAULT 0,
  tagged INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
${expireIndexSql(table)}
${tagTableSql(table)}`;
}

function expireIndexSql(table: string): string {
  return `CREATE INDEX IF NOT EXISTS ${quoteName(`${table}.expire_time`)} ON ${
    quoteName(table)
  } (expire_time) WHERE expire_time IS NOT NULL;`;
}

interface Column {
  name: string;
  type: string;
  pk: number;
}

/** The rows of a statement run once, before the connection's statement cache exists. */
function rows(driver: Driver, sql: string, params: SqlValue[]): SqlRow[] {
  const st = driver.prepare(sql);
  try {
    return st.all(params);
  } finally {
    st.finalize();
  }
}

function columnsOf(driver: Driver, table: string): Column[] {
  return rows(driver, `SELECT name, upper(type), pk FROM pragma_table_info(?)`, [table])
    .map((row) => ({ name: String(row[0]), type: String(row[1]), pk: Number(row[2]) }));
}

function objectType(driver: Driver, name: string): string | undefined {
  const row = rows(driver, `SELECT type FROM sqlite_master WHERE name = ?`, [name])[0];
  return row === undefined ? undefined : String(row[0]);
}

const TEXT_TYPE = /CHAR|CLOB|TEXT/;
const NUMERIC_TYPE = /^$|INT|REAL|FLOA|DOUB|NUMERIC/;

/**
 * Why an existing table that kvsqlite did not create cannot be adopted, or
 * `undefined` when it has the legacy Kvsqlite shape: a text primary key `k`,
 * an untyped or BLOB `v`, perhaps a numeric `expire_time`, nothing else.
 * Another program's table of the same name is left alone.
 */
function notLegacy(driver: Driver, table: string): string | undefined {
  const type = objectType(driver, table);
  if (type !== "table") return `it is a ${type}, not a table`;
  const columns = columnsOf(driver, table);
  const by = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  const k = by.get("k");
  const v = by.get("v");
  const exp = by.get("expire_time");
  const found = columns.map((c) => `${c.name} ${c.type}${c.pk ? " PRIMARY KEY" : ""}`.trim()).join(", ");
  if (
    k === undefined || v === undefined || columns.length !== (exp === undefined ? 2 : 3) ||
    k.pk !== 1 || !TEXT_TYPE.test(k.type) || (v.type !== "" && v.type !== "BLOB") || v.pk !== 0 ||
    (exp !== undefined && (!NUMERIC_TYPE.test(exp.type) || exp.pk !== 0))
  ) {
    return `it has the columns (${found}), not the Kvsqlite shape (k TEXT PRIMARY KEY, v BLOB[, expire_time])`;
  }
  return undefined;
}

/**
 * Checks, reading only, that `table` can be opened: its recorded version is
 * not newer than the library's and, when kvsqlite has not recorded it, it is
 * missing or has the legacy shape. Runs before anything changes the file
 * (even the journal mode), so that a refused file stays byte-identical.
 */
export function checkSchema(driver: Driver, table: string): void {
  const version = storedVersion(driver, table);
  if (version !== undefined) return checkNotNewer(version, table);
  if (objectType(driver, table) === undefined) return;
  const why = notLegacy(driver, table);
  if (why !== undefined) {
    throw new KvSchemaError(`Cannot open table ${JSON.stringify(table)}: ${why}; the file was left unchanged`);
  }
}

function storedVersion(driver: Driver, table: string): number | undefined {
  if (objectType(driver, META_TABLE) !== "table") return undefined;
  const row = rows(driver, `SELECT version FROM ${quoteName(META_TABLE)} WHERE name = ?`, [table])[0];
  return row === undefined ? undefined : Number(row[0]);
}

/**
 * Version 0 is "no kvsqlite table yet": either nothing, or a table left by
 * the Python Kvsqlite (`k VARCHAR(4096) PRIMARY KEY, v BLOB`, perhaps with its
 * own `expire_time` in seconds), which is adopted in place.
 */
/** Adopts a table left by the Python Kvsqlite (checked by {@link checkSchema}). */
function migrateTo1(driver: Driver, table: string): void {
  checkSchema(driver, table);
  const t = quoteName(table);
  if (columnsOf(driver, table).some((c) => c.name.toLowerCase() === "expire_time")) {
    // Kvsqlite counted expiry in seconds; kvsqlite counts in milliseconds.
    driver.exec(`UPDATE ${t} SET expire_time = CAST(expire_time * 1000 AS INTEGER) WHERE expire_time IS NOT NULL`);
  } else {
    driver.exec(`ALTER TABLE ${t} ADD COLUMN expire_time INTEGER`);
  }
  driver.exec(`ALTER TABLE ${t} ADD COLUMN kind INTEGER NOT NULL DEFAULT 0`);
  driver.exec(`ALTER TABLE ${t} ADD COLUMN version INTEGER NOT NULL DEFAULT 0`);
  driver.exec(expireIndexSql(table));
}

/** Tags: every key table of the root (itself and its namespaces) gains `tagged` and its tag table. */
function migrateTo2(driver: Driver, table: string): void {
  const tables = rows(
    driver,
    `SELECT name FROM sqlite_master WHERE type = 'table' AND (name = ? OR (name > ? AND name < ?))`,
    [table, `${table}/`, `${table}0`],
  );
  for (const [name] of tables) {
    driver.exec(`ALTER TABLE ${quoteName(String(name))} ADD COLUMN tagged INTEGER NOT NULL DEFAULT 0`);
    driver.exec(tagTableSql(String(name)));
  }
}

/** Step `i` brings a table from version `i` to `i + 1`; a missing table is created at the current version. */
const MIGRATIONS: ((driver: Driver, table: string) => void)[] = [migrateTo1, migrateTo2];

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
    if (current === 0 && objectType(driver, table) === undefined) driver.exec(createTableSql(table));
    else for (let v = current; v < SCHEMA_VERSION; v++) MIGRATIONS[v]!(driver, table);
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
