/**
 * The PostgreSQL store as a target of the shared suite: a server started on
 * first use (tests/pg_server.ts), a node-postgres pool, and a key table per
 * path (the same path opens the same table again, as a file would).
 */

import pg from "pg";
import postgres from "postgres";
import type { Target } from "./harness.ts";
import { openKvPostgres } from "../src/postgres/mod.ts";
import { endPool, type PgServer, startPrimary } from "./pg_server.ts";
import { currentRuntime } from "./suite/process.ts";

let server: Promise<PgServer> | undefined;
let running: PgServer | undefined;
let pool: pg.Pool | undefined;
/** The other clients opened on the shared server, ended with it. */
const others = new Map<PgClientName, { end(): Promise<unknown> | unknown }>();

/** The clients a target can use. */
export type PgClientName = "node-postgres" | "postgres.js" | "Bun's SQL";

/** The user's client of that kind on the shared server. */
async function clientOf(name: PgClientName): Promise<unknown> {
  const p = await pgPool();
  if (name === "node-postgres") return p;
  let c = others.get(name);
  if (c === undefined) {
    if (name === "postgres.js") c = postgres(pgUrl(), { max: 8, onnotice: () => {} });
    else {
      const { SQL } = await import("bun" as string) as { SQL: new (url: string) => { close(): Promise<void> } };
      const sql = new SQL(pgUrl());
      c = Object.assign(sql, { end: () => sql.close() });
    }
    others.set(name, c);
  }
  return c;
}
const tables = new Map<string, string>();

/** The shared server and pool, started on first use. */
export async function pgPool(): Promise<pg.Pool> {
  server ??= startPrimary();
  const s = await server;
  running = s;
  pool ??= new pg.Pool({ connectionString: s.url, max: 8 });
  return pool;
}

/** The shared server's connection string (after pgPool() started it). */
export function pgUrl(): string {
  if (running === undefined) throw new Error("the PostgreSQL server is not started");
  return running.url;
}

/** Stops the server at once, without waiting (for an exit handler). */
export function stopPgNow(): void {
  running?.process.kill("SIGINT");
  running = undefined;
}

/** Stops the pool and the server (by pid). */
export async function stopPg(): Promise<void> {
  for (const c of others.values()) await c.end();
  others.clear();
  if (pool !== undefined) await endPool(pool);
  pool = undefined;
  if (server !== undefined) await (await server).stop();
  server = undefined;
  running = undefined;
}

function tableFor(path: string | undefined, table: unknown): string {
  const base = path === undefined || path === ":memory:"
    ? `m${tables.size}_${Math.random().toString(36).slice(2)}`
    : path;
  let name = tables.get(base);
  if (name === undefined) {
    name = `t${tables.size}`;
    tables.set(base, name);
  }
  return typeof table === "string" ? `${name}_${table}` : name;
}

/** `openKv`'s options, as the PostgreSQL store takes them: `now` is its `clock`, a file's own are dropped. */
function pgOptions(options: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options?.now !== undefined) out.clock = options.now;
  if (options?.codec !== undefined) out.codec = options.codec;
  return out;
}

export function pgTarget(client: PgClientName = "node-postgres"): Target {
  const rt = currentRuntime().name;
  const unsupported = () => {
    throw new TypeError("the PostgreSQL store has no synchronous form");
  };
  return {
    name: `PostgreSQL (${client}) on ${rt}`,
    runtime: rt,
    async: true,
    async open(path, options) {
      const o = options as Record<string, unknown> | undefined;
      return await openKvPostgres(await clientOf(client), {
        ...pgOptions(o),
        table: tableFor(path, o?.table),
      }) as never;
    },
    openKv: unsupported as never,
    fromDatabase: unsupported as never,
    raw: unsupported as never,
    noUri: "PostgreSQL",
    keepsFileOpen: "PostgreSQL",
    noFile: "a PostgreSQL store has no SQLite file (tests/suite/postgres.ts checks its tables)",
    noChanges: "the change feed is not yet on PostgreSQL",
    noPolling: "watches on PostgreSQL listen on one connection (LISTEN/NOTIFY) instead of polling the file",
    manyConnections: "a pool: calls on the store itself run on other connections than the transaction's",
    async tagRows(path, table) {
      const name = tableFor(path, undefined) + (table === "kv" ? "" : table.slice(2));
      const r = await (await pgPool()).query({
        text: `SELECT tag, k FROM "kvsqlite_tags/${name}" ORDER BY tag COLLATE "C", k COLLATE "C"`,
        values: [],
        rowMode: "array",
      });
      return r.rows;
    },
  };
}
