/**
 * The request of the server benchmark (bench/server.ts) and the stores it
 * runs on, shared with the in-process measurement of bench/batched.ts: each
 * request reads a session and slides its expiry, counts a rate-limit window
 * (`incr` with a TTL) and two audit counters (`incr`). Modes:
 *
 * - `none`: no store at all, the same response (the ceiling of the server);
 * - `maps`: the same handler on plain Maps (dies with the process);
 * - `behind`: the Maps, with every entry a task changed written behind, at the
 *   end of the task, by one `INSERT OR REPLACE` each in one transaction: the
 *   most any in-memory overlay over SQLite could give (every read a Map hit,
 *   every write coalesced per task, the cheapest statement per row);
 * - `raw`: the best SQL by hand on the runtime's built-in driver (bun:sqlite,
 *   node:sqlite), kvsqlite's table and pragmas, one transaction per event-loop
 *   task: `UPDATE … RETURNING` slides a live session in one statement, an
 *   upsert `RETURNING` counts, restarting a window whose row expired;
 * - `immediate`, `batched`: kvsqlite with that durability, `get` + `expire`
 *   for the session, as a new user writes it;
 * - `touch`: kvsqlite batched, `touch` (one statement, Redis GETEX) for it;
 * - `interval`: the same with `commitInterval: 10` (one commit per 10 ms
 *   instead of one per task: what a crash can lose grows to 10 ms of writes).
 *
 * @module
 */

import { openKv } from "../mod.ts";
import { DEFAULTS } from "../src/options.ts";
import { openBuiltinRaw, type RawDatabase, rawPragmas, TABLE_SQL } from "./subjects.ts";

const USERS = 1000;
const SESSION_TTL = 30 * 60_000;
const WINDOW = 60_000;

/** What the handler needs of a store. */
export interface Store {
  session(id: string): unknown;
  count(key: string, ttl?: number): number;
  /** The audit counter, as the next request would read it. */
  audit(): number;
}

function mapStore(dirty?: (key: string) => void): Store {
  const sessions = new Map<string, { value: unknown; expiresAt: number }>();
  const counters = new Map<string, { n: number; expiresAt: number }>();
  for (let i = 0; i < USERS; i++) {
    sessions.set(`session:${i}`, { value: { user: i }, expiresAt: Date.now() + SESSION_TTL });
  }
  return {
    session(id) {
      const s = sessions.get(id);
      if (s === undefined || s.expiresAt <= Date.now()) return undefined;
      s.expiresAt = Date.now() + SESSION_TTL;
      dirty?.(id);
      return s.value;
    },
    count(key, ttl) {
      const now = Date.now();
      let c = counters.get(key);
      if (c === undefined || c.expiresAt <= now) counters.set(key, c = { n: 0, expiresAt: ttl ? now + ttl : Infinity });
      dirty?.(key);
      return ++c.n;
    },
    audit: () => counters.get("audit:requests")?.n ?? 0,
    entry: (key: string) => {
      const s = sessions.get(key);
      if (s !== undefined) return [JSON.stringify(s.value), s.expiresAt];
      const c = counters.get(key)!;
      return [c.n, c.expiresAt === Infinity ? null : c.expiresAt];
    },
  } as Store;
}

function kvStore(file: string, durability: "immediate" | "batched", touch: boolean, commitInterval?: number): Store {
  const kv = openKv(file, { durability, commitInterval });
  kv.setMany(Array.from({ length: USERS }, (_, i) => [`session:${i}`, { user: i }] as [string, unknown]), {
    ttl: SESSION_TTL,
  });
  kv.flush();
  return {
    session: touch ? (id) => kv.touch(id, SESSION_TTL) : (id) => {
      const s = kv.get(id);
      if (s !== undefined) kv.expire(id, SESSION_TTL);
      return s;
    },
    count: (key, ttl) => kv.incr(key, 1, ttl === undefined ? undefined : { ttl }) as number,
    audit: () => kv.get<number>("audit:requests") ?? 0,
  };
}

/** The runtime's built-in driver on the file, with kvsqlite's pragmas and table. */
function rawDatabase(file: string): RawDatabase {
  const db = openBuiltinRaw(file);
  db.exec(rawPragmas(DEFAULTS.mmapSize, DEFAULTS.cacheSize));
  db.exec(TABLE_SQL);
  return db;
}

function rawStore(file: string): Store {
  const db = rawDatabase(file);
  const seed = db.prepare("INSERT OR REPLACE INTO kv (k, v, expire_time) VALUES (?, ?, ?)");
  db.exec("BEGIN IMMEDIATE");
  for (let i = 0; i < USERS; i++) seed.run(`session:${i}`, JSON.stringify({ user: i }), Date.now() + SESSION_TTL);
  db.exec("COMMIT");
  const slide = db.prepare(
    "UPDATE kv SET expire_time = ? WHERE k = ? AND (expire_time IS NULL OR expire_time > ?) RETURNING v",
  );
  const window = db.prepare(
    `INSERT INTO kv (k, v, expire_time) VALUES (?1, 1, ?2) ON CONFLICT (k) DO UPDATE SET
       v = iif(expire_time <= ?3, 1, v + 1), expire_time = iif(expire_time <= ?3, ?2, expire_time) RETURNING v`,
  );
  const counter = db.prepare("INSERT INTO kv (k, v) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET v = v + 1 RETURNING v");
  const read = db.prepare("SELECT v FROM kv WHERE k = ?");
  let open = false;
  const begin = () => {
    if (open) return;
    db.exec("BEGIN IMMEDIATE");
    open = true;
    setImmediate(() => {
      open = false;
      db.exec("COMMIT");
    });
  };
  return {
    session(id) {
      begin();
      const now = Date.now();
      const row = slide.get(now + SESSION_TTL, id, now) as { v: string } | null | undefined;
      return row ? JSON.parse(row.v) : undefined;
    },
    count(key, ttl) {
      begin();
      if (ttl === undefined) return (counter.get(key) as { v: number }).v;
      const now = Date.now();
      return (window.get(key, now + ttl, now) as { v: number }).v;
    },
    audit: () => (read.get("audit:requests") as { v: number } | null | undefined)?.v ?? 0,
  };
}

function behindStore(file: string): Store {
  const db = rawDatabase(file);
  const put = db.prepare("INSERT OR REPLACE INTO kv (k, v, expire_time) VALUES (?, ?, ?)");
  const changed = new Set<string>();
  const store = mapStore((key) => {
    if (changed.size === 0) {
      setImmediate(() => {
        db.exec("BEGIN IMMEDIATE");
        for (const k of changed) put.run(k, ...entry(k));
        db.exec("COMMIT");
        changed.clear();
      });
    }
    changed.add(key);
  });
  const entry = (store as unknown as { entry(key: string): [unknown, number | null] }).entry;
  return store;
}

function noStore(): Store {
  let audit = 0;
  return {
    session: (id) => ({ user: Number(id.slice(8)) }),
    count: (key) => (key === "audit:requests" ? ++audit : 1),
    audit: () => audit,
  };
}

/** The modes, in the order the tables show them. */
export const MODES = ["none", "maps", "behind", "raw", "immediate", "batched", "touch", "interval"] as const;
export type Mode = typeof MODES[number];

/** A store of the given mode on the file (unused by `none` and `maps`). */
export function openStore(mode: Mode, file: string): Store {
  switch (mode) {
    case "none":
      return noStore();
    case "maps":
      return mapStore();
    case "raw":
      return rawStore(file);
    case "behind":
      return behindStore(file);
    case "interval":
      return kvStore(file, "batched", true, 10);
    default:
      return kvStore(file, mode === "immediate" ? "immediate" : "batched", mode === "touch");
  }
}

/** One request on the store: its status and body. */
export function handler(store: Store): () => { status: number; body: string } {
  let n = 0;
  return () => {
    const id = `session:${n++ % USERS}`;
    const session = store.session(id);
    if (session === undefined) return { status: 401, body: "no session" };
    const window = Math.floor(Date.now() / WINDOW);
    const hits = store.count(`rate:${id}:${window}`, WINDOW);
    store.count("audit:requests");
    store.count(`audit:user:${id}`);
    return hits > 1_000_000 ? { status: 429, body: "slow down" } : { status: 200, body: JSON.stringify(session) };
  };
}
