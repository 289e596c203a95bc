/**
 * kvsqlite on PostgreSQL, for many machines writing one store: the async
 * store's methods and semantics over the PostgreSQL client you pass (a
 * node-postgres `Pool` or `Client`, a postgres.js `sql`, Bun's `SQL`); the
 * package imports none of them.
 *
 * @example
 * ```ts ignore
 * import pg from "pg";
 * import { openKvPostgres } from "@kvsqlite/kvsqlite/postgres";
 * await using kv = await openKvPostgres(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * await kv.set("session:42", { user: "ada" }, { ttl: 30 * 60_000 });
 * ```
 *
 * @module
 */

import { checkFunction, checkOptions, typeName } from "../check.ts";
import { type Codec, taggedJson } from "../codec.ts";
import { checkName } from "../names.ts";
import { checkedClock, OPEN_OPTIONS } from "../options.ts";
import { onOwnConnection, recognise } from "./client.ts";
import { migrate } from "./schema.ts";
import { KvPostgres } from "./store.ts";
import { zeroCounters } from "../connection.ts";
import { pgError } from "./errors.ts";

export { KvPostgres } from "./store.ts";
export type { PgClient, PgReserved, PgSession } from "./client.ts";
export * from "../public.ts";

/** Options of {@link openKvPostgres}. */
export interface KvPostgresOptions {
  /** The root key table. @default "kv" */
  table?: string;
  /** The clock, in ms; without it, expiry is judged by the database server's clock (one clock for every machine). */
  clock?: () => number;
  /** Replaces the structured-value codec (as `openKv`'s `codec`). */
  codec?: Codec;
}

/** `openKv`'s options that mean something only for a SQLite file (all but the table and the codec), and its path. */
const SQLITE_ONLY = ["path", ...OPEN_OPTIONS.filter((name) => name !== "table" && name !== "codec")];

/**
 * Opens the store on the PostgreSQL database of `client`, making its tables
 * (once, under an advisory lock) if they are missing.
 *
 * @param client The user's client: node-postgres `Pool`/`Client`, postgres.js `sql`, or Bun's `SQL`.
 * @param options The table, the clock, the codec.
 * @returns The store; `close()` leaves the client open.
 * @throws {TypeError} A client that is not one of those, or an option of SQLite's (named).
 */
export async function openKvPostgres(client: unknown, options: KvPostgresOptions = {}): Promise<KvPostgres> {
  const c = recognise(client);
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot open the PostgreSQL store: options must be an object, received ${typeName(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (SQLITE_ONLY.includes(name)) {
      throw new TypeError(`Cannot open the PostgreSQL store: ${name} is an option of SQLite files, not of PostgreSQL`);
    }
  }
  checkOptions(options, ["table", "clock", "codec"], "open the PostgreSQL store");
  const table = options.table ?? "kv";
  checkName(table, "table", "open the PostgreSQL store");
  if (options.clock !== undefined) checkFunction(options.clock, "clock", "open the PostgreSQL store");
  await onOwnConnection(c, (session) => migrate(session, table)).catch((error) => {
    throw pgError(error, "open the PostgreSQL store");
  });
  return new KvPostgres(
    {
      client: c,
      codec: options.codec ?? taggedJson,
      clock: options.clock === undefined ? undefined : checkedClock(options.clock),
      closed: false,
      made: new Set([table]),
      counters: zeroCounters(),
      listeners: new Set(),
      listenerIds: 0,
    },
    table,
    [],
  );
}
