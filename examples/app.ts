// The logic of the example servers, written once on web Request/Response:
// sessions with a sliding expiry (touch), a fixed-window rate limiter (incr
// with a TTL) and a memoized upstream call, on one kvsqlite file in batched
// mode (a crash may lose the last few milliseconds of counters, never the file).
//
//   POST /login?user=ada      -> { session }
//   GET  /me                  (header "session: <id>") -> { user, visits } or 401
//   GET  /weather?city=Oslo   -> a slow upstream answer, memoized for 10 minutes
// Every request counts against a limit of LIMIT per client per minute (429 past it).
import { openKv } from "../mod.ts";
import { memoize } from "../src/cache.ts";

export const LIMIT = 20;
const SESSION_TTL = 30 * 60_000;

export function createApp(file: string): { handle(request: Request, client: string): Promise<Response> } {
  const kv = openKv(file, { durability: "batched" });
  const sessions = kv.namespace("sessions");
  let upstreamCalls = 0;
  const weather = memoize(async (city: string) => {
    upstreamCalls++;
    await new Promise((resolve) => setTimeout(resolve, 20)); // a slow upstream API
    return { city, celsius: 12 + city.length, fetchedAt: new Date().toISOString() };
  }, { kv, name: "weather", ttl: 10 * 60_000, memory: { max: 1000 } });

  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  return {
    async handle(request, client) {
      const url = new URL(request.url);
      const window = Math.floor(Date.now() / 60_000);
      if (kv.incr(`rate:${client}:${window}`, 1, { ttl: 60_000 }) > LIMIT) return json({ error: "slow down" }, 429);
      if (request.method === "POST" && url.pathname === "/login") {
        const user = url.searchParams.get("user");
        if (!user) return json({ error: "user is required" }, 400);
        const session = crypto.randomUUID();
        sessions.set(session, { user, visits: 0 }, { ttl: SESSION_TTL });
        return json({ session });
      }
      if (url.pathname === "/me") {
        const id = request.headers.get("session") ?? "";
        const session = id ? sessions.touch<{ user: string; visits: number }>(id, SESSION_TTL) : undefined;
        if (session === undefined) return json({ error: "no session" }, 401);
        session.visits++;
        sessions.set(id, session, { keepTtl: true });
        return json(session);
      }
      if (url.pathname === "/weather") {
        const city = url.searchParams.get("city") ?? "Oslo";
        return json({ ...(await weather(city)), upstreamCalls });
      }
      return json({ error: "not found" }, 404);
    },
  };
}
