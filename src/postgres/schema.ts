/**
 * The PostgreSQL schema of a store (FORMAT.md, "PostgreSQL"): a key table per
 * key space, its tag table, and the meta table of versions, made or migrated
 * once under an advisory lock however many processes start together.
 *
 * @module
 */

import { quoteName } from "../names.ts";
import { KvSchemaError } from "../errors.ts";
import type { PgSession } from "./client.ts";

/** The schema version this code writes and reads. */
export const PG_SCHEMA_VERSION = 1;

/** The quoted names of one key table's objects. */
export interface PgTable {
  /** The key table's name (`kv`, `kv/ns`). */
  name: string;
  /** Quoted key table. */
  q: string;
  /** Quoted tag table. */
  tags: string;
}

/** The names of key table `name`'s objects. */
export function pgTable(name: string): PgTable {
  return { name, q: quoteName(name), tags: quoteName(`kvsqlite_tags/${name}`) };
}

/** The statements that create key table `t` and its tag table when missing. */
export function createTableSql(t: PgTable): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.q} (
      k TEXT COLLATE "C" PRIMARY KEY,
      t TEXT,
      n DOUBLE PRECISION,
      b BYTEA,
      kind SMALLINT NOT NULL DEFAULT 0,
      expire_time BIGINT,
      version BIGINT NOT NULL DEFAULT 0,
      tagged BOOLEAN NOT NULL DEFAULT false
    )`,
    `CREATE INDEX IF NOT EXISTS ${quoteName(`${t.name}.expire_time`)} ON ${t.q} (expire_time)
      WHERE expire_time IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${t.tags} (
      tag TEXT COLLATE "C" NOT NULL,
      k TEXT COLLATE "C" NOT NULL,
      PRIMARY KEY (tag, k)
    )`,
    `CREATE INDEX IF NOT EXISTS ${quoteName(`kvsqlite_tags/${t.name}.k`)} ON ${t.tags} (k)`,
    // Watches learn of other machines' writes from this: one notification per statement that wrote the table.
    `CREATE OR REPLACE TRIGGER "kvsqlite_notify" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${t.q}
      FOR EACH STATEMENT EXECUTE FUNCTION kvsqlite_notify()`,
  ];
}

/**
 * The tables some machine watches or listens to, each until a time it renews
 * while it does (ms): the triggers notify only for those. A NOTIFY serializes
 * the commits of every session that sends one, and costs a write a third of
 * its speed: nobody watching, nobody pays it.
 */
export const WATCHED_TABLE = `CREATE TABLE IF NOT EXISTS "kvsqlite_watched" (
  tbl TEXT COLLATE "C" PRIMARY KEY, until BIGINT NOT NULL)`;

/** The function the key and queue tables' triggers run: `pg_notify('kvsqlite', <table>)` while it is watched. */
export const NOTIFY_FUNCTION = `CREATE OR REPLACE FUNCTION kvsqlite_notify() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF EXISTS (SELECT 1 FROM "kvsqlite_watched" WHERE tbl = TG_TABLE_NAME
        AND until > floor(extract(epoch FROM clock_timestamp()) * 1000)) THEN
      PERFORM pg_notify('kvsqlite', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
  END $$`;

/**
 * Runs `work` holding the advisory lock named after table `name`, in the
 * transaction `session` is in or in one of its own (rolled back when `work`
 * throws): processes starting together wait for the first one's DDL instead
 * of racing it.
 */
async function underLock(
  session: PgSession,
  name: string,
  inTransaction: boolean,
  work: () => Promise<void>,
): Promise<void> {
  if (!inTransaction) await session.query("BEGIN");
  try {
    await session.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`kvsqlite:${name}`]);
    await work();
    if (!inTransaction) await session.query("COMMIT");
  } catch (error) {
    if (!inTransaction) await session.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Runs the statements that make table `name` (a namespace's key table, a queue table) under its lock. */
export function makeUnderLock(
  session: PgSession,
  name: string,
  statements: string[],
  inTransaction: boolean,
): Promise<void> {
  return underLock(session, name, inTransaction, async () => {
    for (const sql of statements) await session.query(sql);
  });
}

/**
 * Makes (or checks) the root table `name`, under its lock. A newer schema
 * version is a {@link KvSchemaError}, and nothing is changed.
 */
export async function migrate(session: PgSession, name: string): Promise<void> {
  // The common case, a table at this version, takes no lock and writes nothing (a standby can open it).
  if ((await session.query(`SELECT to_regclass('"kvsqlite_meta"') IS NOT NULL`))[0]![0] === true) {
    const rows = await session.query(`SELECT version FROM "kvsqlite_meta" WHERE name = $1`, [name]);
    if (rows.length > 0 && Number(rows[0]![0]) === PG_SCHEMA_VERSION) return;
  }
  await underLock(session, name, false, async () => {
    await session.query(
      `CREATE TABLE IF NOT EXISTS "kvsqlite_meta" (name TEXT COLLATE "C" PRIMARY KEY, version INTEGER NOT NULL)`,
    );
    const rows = await session.query(`SELECT version FROM "kvsqlite_meta" WHERE name = $1`, [name]);
    const version = rows.length === 0 ? 0 : Number(rows[0]![0]);
    if (version > PG_SCHEMA_VERSION) {
      throw new KvSchemaError(
        `Table ${
          JSON.stringify(name)
        } has schema version ${version}, newer than this kvsqlite's (${PG_SCHEMA_VERSION})`,
      );
    }
    if (version < PG_SCHEMA_VERSION) {
      await session.query(WATCHED_TABLE);
      await session.query(NOTIFY_FUNCTION);
      for (const sql of createTableSql(pgTable(name))) await session.query(sql);
      await session.query(
        `INSERT INTO "kvsqlite_meta" (name, version) VALUES ($1, $2)
          ON CONFLICT (name) DO UPDATE SET version = excluded.version`,
        [name, PG_SCHEMA_VERSION],
      );
    }
  });
}
