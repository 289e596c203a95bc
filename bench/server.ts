/**
 * The server of the batched-commits benchmark, as a new user writes it: each
 * `GET /me` reads a session and slides its expiry (`get` + `expire`), counts a
 * rate-limit window (`incr` with a TTL) and two audit counters (`incr`): four
 * writes and one read. Bun.serve on Bun, node:http elsewhere, on 127.0.0.1.
 *
 * Usage: <runtime> bench/server.ts <maps|immediate|batched> <file>
 * Prints `listening <port>`; ends on SIGTERM.
 */

import { openKv } from "../mod.ts";

const [mode, file] = (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);
const USERS = 1000;
const SESSION_TTL = 30 * 60_000;
const WINDOW = 60_000;

interface Store {
  session(id: string): unknown;
  count(key: string, ttl?: number): number;
}

function mapStore(): Store {
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
      return s.value;
    },
    count(key, ttl) {
      const now = Date.now();
      let c = counters.get(key);
      if (c === undefined || c.expiresAt <= now) counters.set(key, c = { n: 0, expiresAt: ttl ? now + ttl : Infinity });
      return ++c.n;
    },
  };
}

function kvStore(durability: "immediate" | "batched"): Store {
  const kv = openKv(file, { durability });
  kv.setMany(Array.from({ length: USERS }, (_, i) => [`session:${i}`, { user: i }] as [string, unknown]), {
    ttl: SESSION_TTL,
  });
  kv.flush();
  return {
    session(id) {
      const s = kv.get(id);
      if (s !== undefined) kv.expire(id, SESSION_TTL);
      return s;
    },
    count: (key, ttl) => kv.incr(key, 1, ttl === undefined ? undefined : { ttl }) as number,
  };
}

const store = mode === "maps" ? mapStore() : kvStore(mode === "batched" ? "batched" : "immediate");
let n = 0;

function handle(): { status: number; body: string } {
  const id = `session:${n++ % USERS}`;
  const session = store.session(id);
  if (session === undefined) return { status: 401, body: "no session" };
  const window = Math.floor(Date.now() / WINDOW);
  const hits = store.count(`rate:${id}:${window}`, WINDOW);
  store.count("audit:requests");
  store.count(`audit:user:${id}`);
  return hits > 1_000_000 ? { status: 429, body: "slow down" } : { status: 200, body: JSON.stringify(session) };
}

const g = globalThis as unknown as {
  Bun?: { serve(o: { port: number; hostname: string; fetch(): Response }): { port: number } };
  process: { getBuiltinModule(id: string): unknown };
};
if (g.Bun) {
  const server = g.Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch() {
      const r = handle();
      return new Response(r.body, { status: r.status });
    },
  });
  console.log(`listening ${server.port}`);
} else {
  const http = g.process.getBuiltinModule("node:http") as typeof import("node:http");
  const server = http.createServer((_req, res) => {
    const r = handle();
    res.writeHead(r.status, { "content-type": "text/plain" });
    res.end(r.body);
  });
  server.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as { port: number }).port}`));
}
