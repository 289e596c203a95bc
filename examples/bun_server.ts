// The example app on Bun.serve: `bun examples/bun_server.ts` (PORT and FILE from the environment).
import { createApp } from "./app.ts";

const app = createApp(process.env.FILE ?? "data/example.db");
const server = Bun.serve({
  port: Number(process.env.PORT ?? 8000),
  hostname: "127.0.0.1",
  fetch: (request, srv) => app.handle(request, srv.requestIP(request)?.address ?? "unknown"),
});
console.log(`listening ${server.port}`);
