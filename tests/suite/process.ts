import { assert } from "../assert.ts";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openKv } from "../../mod.ts";
import type { TestFn } from "../harness.ts";
import { rawExec, tempDir, tempFile } from "../util.ts";
import type { Driver } from "../../src/driver.ts";

const WORKER = fileURLToPath(new URL("../fixtures/worker.ts", import.meta.url));

/** How to start a runtime on a script. */
export interface Runtime {
  name: "node" | "bun" | "deno";
  command: string;
  args: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** The runtime this suite runs in. */
export function currentRuntime(): Runtime {
  const g = globalThis as { Bun?: unknown; Deno?: unknown; process: { execPath: string } };
  const exe = g.process.execPath;
  if (g.Deno) return { name: "deno", command: exe, args: ["run", "-A"] };
  if (g.Bun) return { name: "bun", command: exe, args: [] };
  return { name: "node", command: exe, args: [] };
}

/** Why this process cannot start another one as the user nobody (to be refused a folder), or undefined when it can. */
function asNobody(): string | undefined {
  const p = (globalThis as { process?: { platform?: string; getuid?: () => number } }).process;
  if (p?.platform !== "linux") return "setpriv is Linux's";
  if (p.getuid?.() !== 0) return "starting a process as nobody needs root";
  if (!existsSync("/usr/bin/setpriv")) return "setpriv (util-linux) is not installed";
  for (const path of [WORKER, currentRuntime().command]) {
    if (!othersCanReach(path)) return `${path} cannot be read by another user (a folder above it is private)`;
  }
  return undefined;
}

/** Whether a user other than the owner can read `path`: it is readable by others, every folder above searchable. */
function othersCanReach(path: string): boolean {
  try {
    if ((statSync(path).mode & 0o004) === 0) return false;
    for (let dir = dirname(path);; dir = dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (dirname(dir) === dir) return true;
    }
  } catch {
    return false;
  }
}

/** Resolves once `check()` holds (looked at every 10 ms); throws, naming `what`, after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Calls `onLine` with each whole line a child's output stream gives, as it comes. */
export function onLines(
  stream: { setEncoding(encoding: "utf8"): unknown; on(event: "data", listener: (chunk: string) => void): unknown },
  onLine: (line: string) => void,
): void {
  let buffer = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      onLine(line);
    }
  });
}

/** Starts the worker; resolves with its output lines once it exits. */
export function runWorker(
  rt: Runtime,
  args: string[],
  onLine?: (line: string) => void,
  timeoutMs = 60_000,
): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = rt.env === undefined
      ? undefined
      : { ...(globalThis as unknown as { process: { env: Record<string, string> } }).process.env, ...rt.env };
    const child = spawn(rt.command, [...rt.args, WORKER, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
    const lines: string[] = [];
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    onLines(child.stdout, (line) => {
      lines.push(line);
      onLine?.(line);
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, lines, stderr });
    });
  });
}

/** Runs a command in a folder; resolves with its exit code and output once it exits. */
export function runCommand(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Real second processes on the same file. */
export function processTests(test: TestFn, raw: (path: string) => Driver): void {
  const rt = currentRuntime();

  test(`a ${rt.name} process opening a store in a folder that cannot be made under /proc fails at once`, async () => {
    // A recursive mkdirSync never returns there on Node; the process is killed after 20 s if it hangs.
    const started = performance.now();
    const r = await runWorker(rt, ["open-error", "/proc/kvsqlite-none/sub/x.db"], undefined, 20_000);
    assert.equal(r.code, 0, `the process ended with ${r.code} after ${Math.round(performance.now() - started)} ms`);
    assert.match(
      r.lines[0] ?? "",
      /^KvError KV_ERROR Cannot open "\/proc\/kvsqlite-none\/sub\/x\.db": .*\/proc\/kvsqlite-none/,
    );
  }, {
    skip: (globalThis as { process?: { platform?: string } }).process?.platform === "linux"
      ? undefined
      : "/proc is Linux's",
  });

  test(`a ${rt.name} process without permission to make the store's folder is told which folder and why`, async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755); // readable by others, writable by its owner (root) only
    const path = join(dir, "sub", "x.db");
    const nobody = {
      ...rt,
      command: "setpriv",
      args: ["--reuid=65534", "--regid=65534", "--clear-groups", rt.command, ...rt.args],
    };
    const r = await runWorker(nobody, ["open-error", path], undefined, 20_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.lines[0],
      `KvError KV_ERROR Cannot open ${JSON.stringify(path)}: the folder ${
        JSON.stringify(dir)
      } is not writable by this process (EACCES)`,
    );
    assert.equal(existsSync(join(dir, "sub")), false);
  }, { skip: asNobody() });

  test(`two ${rt.name} processes incrementing one counter lose no write`, async () => {
    const path = tempFile();
    openKv(path).close();
    const runs = await Promise.all([runWorker(rt, ["incr", path, "300"]), runWorker(rt, ["incr", path, "300"])]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    using kv = openKv(path);
    assert.equal(kv.get("counter"), 600);
  });

  test(`a batched ${rt.name} process and an immediate one writing one file both progress and lose nothing`, async () => {
    const path = tempFile();
    openKv(path).close();
    const runs = await Promise.all([
      runWorker(rt, ["incr-mode", path, "3000:batched"]),
      runWorker(rt, ["incr-mode", path, "600:immediate"]),
    ]);
    for (const r of runs) assert.deepEqual(r.lines, ["done busy 0"], r.stderr);
    using kv = openKv(path);
    assert.equal(kv.get("counter"), 3600);
  });

  test(`a ${rt.name} process waits out a lock within busyTimeout and fails with KvBusyError past it`, async () => {
    const path = tempFile();
    openKv(path).close();
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    const holder = runWorker(rt, ["hold", path, "1500"], (line) => line === "holding" && holding());
    await held;
    const [short, long] = await Promise.all([
      runWorker(rt, ["try-write", path, "50"]),
      runWorker(rt, ["try-write", path, "20000"]),
    ]);
    assert.deepEqual(short.lines, ["busy"], short.stderr);
    assert.deepEqual(long.lines, ["written"], long.stderr);
    assert.equal((await holder).code, 0);
    using kv = openKv(path);
    assert.equal(kv.get("held"), 1);
    assert.equal(kv.get("tried"), 1);
  });

  test(`${rt.name} processes opening one legacy file at once both succeed and migrate it once`, async () => {
    for (let round = 0; round < 3; round++) {
      const path = tempFile();
      rawExec(raw, path, `CREATE TABLE "kv" (k VARCHAR(4096) PRIMARY KEY, v BLOB); INSERT INTO kv VALUES ('a', 'b');`);
      const runs = await Promise.all([runWorker(rt, ["open", path]), runWorker(rt, ["open", path])]);
      for (const r of runs) assert.deepEqual(r.lines, ["opened 1"], r.stderr);
      using kv = openKv(path);
      assert.equal(kv.get("a"), "b");
    }
  });

  test(`a ${rt.name} process with a sweeper exits on its own`, async () => {
    const path = tempFile();
    const started = Date.now();
    const r = await runWorker(rt, ["sweeper", path]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, ["open with a sweeper"]);
    assert.ok(Date.now() - started < 30_000);
  });
}
