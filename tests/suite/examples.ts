import { assert } from "../assert.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestFn } from "../harness.ts";
import { runCommand } from "./process.ts";
import { tempDir } from "../util.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const example = (name: string) => join(root, "examples", name);

function start(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ port: number; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => {
      out += c;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), child });
    });
    child.stderr.on("data", (c) => (err += c));
    child.on("close", (code) => reject(new Error(`the server ended (${code}): ${err}`)));
  });
}

/** The examples, run as a user runs them: servers answering real requests, a script with narrow permissions. */
export function exampleTests(test: TestFn): void {
  const servers: [string, string, (dir: string) => string[]][] = [
    ["Bun.serve", bin("bun"), () => [example("bun_server.ts")]],
    ["node:http", bin("node"), () => [example("node_server.ts")]],
    [
      "Deno.serve",
      bin("deno"),
      (
        dir,
      ) => [
        "run",
        "--allow-net=127.0.0.1",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        "--allow-env=PORT,FILE",
        example("deno_server.ts"),
      ],
    ],
  ];
  for (const [name, command, args] of servers) {
    test(`the example server on ${name}: sessions slide, the rate limit holds, the upstream call is memoized`, async () => {
      const dir = tempDir();
      const { port, child } = await start(command, args(dir), dir, {
        PORT: "0",
        FILE: join(dir, "data", "example.db"),
      });
      const url = (path: string) => `http://127.0.0.1:${port}${path}`;
      try {
        let sent = 0;
        const send = async (path: string, init?: RequestInit) => {
          sent++;
          const r = await fetch(url(path), init);
          return { status: r.status, body: await r.json() };
        };
        const login = await send("/login?user=ada", { method: "POST" });
        assert.equal(login.status, 200);
        const headers = { session: login.body.session };
        assert.deepEqual((await send("/me", { headers })).body, { user: "ada", visits: 1 });
        assert.deepEqual((await send("/me", { headers })).body, { user: "ada", visits: 2 });
        assert.equal((await send("/me", { headers: { session: "forged" } })).status, 401);
        const first = await send("/weather?city=Oslo");
        const second = await send("/weather?city=Oslo");
        assert.equal(first.body.celsius, 16);
        assert.equal(second.body.upstreamCalls, 1, "the second answer came from the cache");
        while (sent < 20) assert.equal((await send("/me", { headers })).status, 200);
        assert.equal((await send("/me", { headers })).status, 429, "the 21st request in the minute is limited");
      } finally {
        child.kill("SIGTERM");
      }
    });
  }

  test("the Deno script runs with read and write of its data folder only, and caches across runs", async () => {
    const dir = tempDir();
    const args = ["run", "--allow-read=data", "--allow-write=data", example("deno_script.ts"), "30"];
    const first = await runCommand(bin("deno"), args, dir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /fibonacci\(30\) = 832040 \(computed\)/);
    const second = await runCommand(bin("deno"), args, dir);
    assert.match(second.stdout, /\(from the cache\)\nthis script has run 2 time/);
  });
}
