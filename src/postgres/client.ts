/**
 * The one query interface the PostgreSQL store speaks, over the client the
 * user passes: a node-postgres `Pool` or `Client`, a postgres.js `sql`, or
 * Bun's `SQL`, each recognised by its shape (kvsqlite imports none of them).
 * A query takes SQL with `$1...` parameters and returns rows as arrays.
 *
 * @module
 */

import { typeName } from "../check.ts";

/** One connection's queries, in order. */
export interface PgSession {
  /** Runs `sql` with its `$1...` parameters; resolves with the rows, each an array of its columns. */
  query(sql: string, params?: readonly unknown[]): Promise<unknown[][]>;
}

/** A session kept for a transaction, given back with `release()` (destroyed when `broken`). */
export interface PgReserved extends PgSession {
  /** Gives the connection back (`broken`: destroyed instead, its state being unknown). */
  release(broken?: boolean): void;
}

/** The user's client, as the store uses it. */
export interface PgClient extends PgSession {
  /** Which client it is. */
  readonly kind: "node-postgres pool" | "node-postgres client" | "postgres.js" | "bun";
  /** A connection of its own for a transaction (a `Client` is its own: the others wait until it is released). */
  reserve(): Promise<PgReserved>;
  /**
   * Listens to a channel on a connection held for it; resolves with the function that stops. Absent where the
   * client cannot listen (Bun's SQL).
   */
  listen?(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
}

/** Runs `fn` on a connection of its own, given back after (destroyed when `fn` threw: its state is unknown). */
export async function onOwnConnection<R>(client: PgClient, fn: (session: PgSession) => Promise<R>): Promise<R> {
  const session = await client.reserve();
  let broken = false;
  try {
    return await fn(session);
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    session.release(broken);
  }
}

interface NodePgQueryable {
  query(config: { name?: string; text: string; values: unknown[]; rowMode: "array" }): Promise<{ rows: unknown[][] }>;
}

interface NodePgEvents {
  on(event: "error", listener: (error: Error) => void): void;
  on(event: "notification", listener: (message: { channel: string; payload?: string }) => void): void;
  off(event: "error", listener: (error: Error) => void): void;
  off(event: "notification", listener: (message: { channel: string; payload?: string }) => void): void;
}

interface NodePgPool extends NodePgQueryable {
  connect(): Promise<NodePgQueryable & NodePgEvents & { release(destroy?: boolean | Error): void }>;
  totalCount: number;
}

interface UnsafeSql {
  unsafe(sql: string, params?: unknown[]): { values(): Promise<unknown[][]> };
  reserve(): Promise<UnsafeSql & { release(): void }>;
  /** postgres.js's; Bun's SQL has none. */
  listen?(channel: string, onNotify: (payload: string) => void): Promise<{ unlisten(): Promise<void> }>;
}

/** LISTEN on a node-postgres connection: its notifications of `channel` go to `onNotify`. */
async function listenOn(
  conn: NodePgQueryable & NodePgEvents,
  channel: string,
  onNotify: (payload: string) => void,
): Promise<() => Promise<void>> {
  const handler = (m: { channel: string; payload?: string }) => {
    if (m.channel === channel) onNotify(m.payload ?? "");
  };
  conn.on("notification", handler);
  await conn.query({ text: `LISTEN "${channel}"`, values: [], rowMode: "array" });
  return async () => {
    conn.off("notification", handler);
    await conn.query({ text: `UNLISTEN "${channel}"`, values: [], rowMode: "array" });
  };
}

/** One at a time, in order: what a single node-postgres `Client` allows around a transaction. */
class Lock {
  #tail: Promise<void> = Promise.resolve();
  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.#tail.then(() => release);
    this.#tail = next;
    return ready;
  }
}

/** A statement's name for node-postgres, which then prepares it once per connection: a hash of its text. */
function statementName(sql: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return `kvsqlite_${(h1 >>> 0).toString(36)}${(h2 >>> 0).toString(36)}`;
}

function nodePg(q: NodePgQueryable): PgSession["query"] {
  // Statements with parameters are named, so prepared once per connection (postgres.js and Bun's SQL prepare by
  // themselves); the others (BEGIN, DDL) are sent as they are.
  return async (sql, params = []) =>
    (await q.query({
      ...(params.length > 0 ? { name: statementName(sql) } : {}),
      text: sql,
      values: [...params],
      rowMode: "array",
    })).rows;
}

/**
 * A node-postgres connection's queries one at a time, in the order of the
 * calls: a transaction's function may make calls without awaiting them, and
 * node-postgres deprecates a query sent while another runs (pg@9 refuses it).
 */
function inOrder(run: PgSession["query"]): PgSession["query"] {
  let tail: Promise<unknown> = Promise.resolve();
  return (sql, params) => {
    const result = tail.then(() => run(sql, params));
    tail = result.catch(() => {});
    return result;
  };
}

function unsafe(s: UnsafeSql): PgSession["query"] {
  // postgres.js and Bun send a query when it is first awaited: `then` here, at once, keeps the connection's order
  // the order of the calls.
  return (sql, params = []) => {
    const query = s.unsafe(sql, [...params]).values();
    return new Promise((resolve, reject) => void query.then(resolve, reject));
  };
}

/**
 * Recognises the user's client by its shape.
 *
 * @throws {TypeError} When it is none of the clients above.
 */
export function recognise(client: unknown): PgClient {
  const c = client as Record<string, unknown> | null;
  if ((typeof c === "object" || typeof c === "function") && c !== null) {
    if (typeof c.unsafe === "function" && typeof c.reserve === "function") {
      const s = c as unknown as UnsafeSql;
      const bun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" && typeof c.begin === "function" &&
        typeof (c as { options?: unknown }).options === "object" && !("types" in c);
      return {
        kind: bun ? "bun" : "postgres.js",
        query: unsafe(s),
        async reserve() {
          const r = await s.reserve();
          return { query: unsafe(r), release: () => r.release() };
        },
        ...(typeof s.listen === "function" && !bun
          ? {
            async listen(channel: string, onNotify: (payload: string) => void) {
              const { unlisten } = await s.listen!(channel, onNotify);
              return unlisten;
            },
          }
          : {}),
      };
    }
    if (typeof c.query === "function" && typeof c.connect === "function") {
      if (typeof c.totalCount === "number") {
        const pool = c as unknown as NodePgPool;
        return {
          kind: "node-postgres pool",
          query: nodePg(pool),
          async reserve() {
            const conn = await pool.connect();
            // A checked-out client reports a dropped connection as an 'error' event, which would end the process
            // without a listener; the query in flight rejects anyway, and the client is destroyed on release.
            let dropped = false;
            const onError = () => (dropped = true);
            conn.on("error", onError);
            return {
              query: inOrder(nodePg(conn)),
              release: (broken) => {
                conn.off("error", onError);
                conn.release(broken === true || dropped);
              },
            };
          },
          async listen(channel, onNotify) {
            // A connection of the pool held for as long as something listens.
            const conn = await pool.connect();
            const onError = () => {};
            conn.on("error", onError);
            const stop = await listenOn(conn, channel, onNotify);
            return async () => {
              try {
                await stop();
                conn.release();
              } catch {
                conn.release(true);
              }
              conn.off("error", onError);
            };
          },
        };
      }
      const single = c as unknown as NodePgQueryable;
      const lock = new Lock();
      const run = inOrder(nodePg(single));
      return {
        kind: "node-postgres client",
        async query(sql, params) {
          const release = await lock.acquire();
          try {
            return await run(sql, params);
          } finally {
            release();
          }
        },
        async reserve() {
          const release = await lock.acquire();
          return { query: run, release: () => release() };
        },
        async listen(channel, onNotify) {
          // LISTEN and UNLISTEN take the client's turn like any call (inside a transaction, LISTEN would wait for it).
          const turn = <T>(fn: () => Promise<T>) =>
            lock.acquire().then(async (release) => {
              try {
                return await fn();
              } finally {
                release();
              }
            });
          const stop = await turn(() => listenOn(single as NodePgQueryable & NodePgEvents, channel, onNotify));
          return () => turn(stop);
        },
      };
    }
  }
  throw new TypeError(
    "Cannot open the PostgreSQL store: client must be a node-postgres Pool or Client, a postgres.js sql or Bun's SQL, " +
      `received ${typeName(client)}`,
  );
}
