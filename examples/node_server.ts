// The example app on node:http: `node examples/node_server.ts` (PORT and FILE from the environment).
import { createServer } from "node:http";
import { createApp } from "./app.ts";

const app = createApp(process.env.FILE ?? "data/example.db");
const server = createServer(async (req, res) => {
  const request = new Request(`http://${req.headers.host}${req.url}`, {
    method: req.method,
    headers: req.headers as Record<string, string>,
  });
  const response = await app.handle(request, req.socket.remoteAddress ?? "unknown");
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(await response.text());
});
server.listen(Number(process.env.PORT ?? 8000), "127.0.0.1", () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
