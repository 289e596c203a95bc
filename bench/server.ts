/**
 * The server of the batched-commits benchmark: Bun.serve on Bun, node:http
 * elsewhere, on 127.0.0.1, each `GET /me` one request of bench/handler.ts on
 * the store of the given mode (listed there). `GET /audit` answers the audit
 * counter (the requests the store counted).
 *
 * Usage: <runtime> bench/server.ts <mode> <file>
 * Prints `listening <port>`; ends on SIGTERM.
 */

import { handler, type Mode, MODES, openStore } from "./handler.ts";

const [mode, file] = (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2) as [Mode, string];
if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}; one of ${MODES.join(", ")}`);
const store = openStore(mode, file);
const handle = handler(store);

const g = globalThis as unknown as {
  Bun?: { serve(o: { port: number; hostname: string; fetch(req: Request): Response }): { port: number } };
  process: { getBuiltinModule(id: string): unknown };
};
if (g.Bun) {
  const server = g.Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const r = req.url.endsWith("/audit") ? { status: 200, body: String(store.audit()) } : handle();
      return new Response(r.body, { status: r.status });
    },
  });
  console.log(`listening ${server.port}`);
} else {
  const http = g.process.getBuiltinModule("node:http") as typeof import("node:http");
  const server = http.createServer((req, res) => {
    const r = req.url === "/audit" ? { status: 200, body: String(store.audit()) } : handle();
    res.writeHead(r.status, { "content-type": "text/plain" });
    res.end(r.body);
  });
  server.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as { port: number }).port}`));
}
