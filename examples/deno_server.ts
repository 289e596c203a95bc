// The example app on Deno.serve, with the narrowest permissions:
//   deno run --allow-net=127.0.0.1 --allow-read=data --allow-write=data --allow-env=PORT,FILE examples/deno_server.ts
import { createApp } from "./app.ts";

const app = createApp(Deno.env.get("FILE") ?? "data/example.db");
Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 8000),
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`listening ${port}`),
}, (request, info) => app.handle(request, (info.remoteAddr as Deno.NetAddr).hostname));
