import { assert } from "../assert.ts";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Target, TestFn } from "../harness.ts";
import { currentRuntime, onLines, type Runtime, runWorker, until } from "./process.ts";
import { held, tempFile } from "../util.ts";

const WORKER = fileURLToPath(new URL("../fixtures/worker.ts", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

/** Another runtime than this one (a watcher on one runtime, a writer on the next). */
function otherRuntime(rt: Runtime): Runtime {
  if (rt.name === "node") return { name: "bun", command: bin("bun"), args: [] };
  if (rt.name === "bun") return { name: "deno", command: bin("deno"), args: ["run", "-A"] };
  return { name: "node", command: bin("node"), args: [] };
}

/** Starts a fixture command that runs until killed; resolves once it printed `ready`. */
function start(rt: Runtime, args: string[], ready: string, onLine?: (line: string) => void) {
  const child = spawn(rt.command, [...rt.args, WORKER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  const started = new Promise<void>((resolve, reject) => {
    onLines(child.stdout, (line) => {
      if (line === ready) resolve();
      onLine?.(line);
    });
    child.on("close", () => reject(new Error(`${args[0]} ended early: ${stderr}`)));
  });
  const ended = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return { child, started, ended, stderr: () => stderr };
}

/** Watch and queues across real processes on one file, on this runtime's built-in driver. */
export function sharedFileTests(test: TestFn, t: Target): void {
  const rt = currentRuntime();
  const other = otherRuntime(rt);

  test(`a ${rt.name} watcher sees what a ${other.name} process writes, deletes and lets expire`, async () => {
    const path = tempFile();
    using kv = t.openKv(path);
    kv.set("b", "to delete");
    const watch = kv.watch(["a", "b", "c"]);
    const values = (state: { value: unknown }[] | undefined) => state?.map((e) => e.value);
    assert.deepEqual(values((await held(watch.next())).value), [undefined, "to delete", undefined]);
    const w = await runWorker(other, ["watch-writes", path, "300"]);
    assert.deepEqual(w.lines, ["written"], w.stderr);
    let state = values((await held(watch.next())).value);
    // The writer's three writes may arrive as one state or more; the last one is never missed.
    while (JSON.stringify(state) !== JSON.stringify([1, undefined, "soon"])) {
      state = values((await held(watch.next())).value);
    }
    assert.deepEqual(values((await held(watch.next())).value), [1, undefined, undefined], "then c expires");
    await watch.return();
  });

  test(`4 ${rt.name} listener processes handle 2,000 messages of 2 enqueuers, each once, none lost`, async () => {
    const path = tempFile();
    t.openKv(path).close();
    const listeners = Array.from({ length: 4 }, () => start(rt, ["queue-listen", path, "2"], "listening"));
    try {
      await Promise.all(listeners.map((l) => l.started));
      const enqueuers = await Promise.all([
        runWorker(rt, ["queue-enqueue", path, "p:1000"]),
        runWorker(other, ["queue-enqueue", path, "q:1000"]),
      ]);
      for (const e of enqueuers) assert.deepEqual(e.lines, ["enqueued"], e.stderr);
      using kv = t.openKv(path);
      await until(() => kv.count({ prefix: "handled:" }) === 2000, "2,000 handled messages", 60_000);
      await until(() => kv.queue("work").size() === 0, "an empty queue", 60_000);
      const counts = kv.values<number>({ prefix: "handled:" });
      assert.equal(counts.length, 2000);
      assert.ok(counts.every((n) => n === 1), "no message was handled twice without a failure");
    } finally {
      for (const l of listeners) l.child.kill("SIGKILL");
      await Promise.all(listeners.map((l) => l.ended));
    }
  });

  test(`a ${rt.name} listener killed mid-handler: its message is delivered again once the lease lapses`, async () => {
    const path = tempFile();
    using kv = t.openKv(path);
    const work = kv.queue<string>("work");
    work.enqueue("only");
    let seen = "";
    const hang = start(rt, ["queue-hang", path, "300"], "started only 1", (line) => (seen = line));
    await hang.started;
    hang.child.kill("SIGKILL");
    await hang.ended;
    assert.equal(seen, "started only 1");
    assert.equal(work.claim(), undefined, "held by the dead listener's lease");
    const stop = new AbortController();
    const got: [string, number][] = [];
    await held(work.listen((value, message) => {
      got.push([value, message.attempts]);
      stop.abort();
    }, { signal: stop.signal }));
    assert.deepEqual(got, [["only", 2]]);
  });
}
