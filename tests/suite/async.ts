import { assert } from "../assert.ts";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KvBusyError, KvClosedError, KvCodecError, KvError } from "../../src/errors.ts";
import { killWorker, type KvAsync } from "../../src/async/client.ts";
import type { KvOptions } from "../../src/options.ts";
import { openKv, openKvAsync } from "../../mod.ts";
import {
  type BetterDatabaseClass,
  openKv as openBetter,
  openKvAsync as openBetterAsync,
} from "../../adapters/better_sqlite3.ts";
import type { AnyKv, Target, TestFn } from "../harness.ts";
import { currentRuntime, runWorker } from "./process.ts";
import { cannotMount, mountTmpfs, tempDir, tempFile } from "../util.ts";

/** What only the async client has: `transaction(async fn)`, the worker thread and what crosses to it. */
export function asyncTests(test: TestFn, t: Target): void {
  const open = (path?: string, options?: KvOptions & { transactionTimeout?: number }): Promise<KvAsync> =>
    t.openKvAsync!(path, options);

  test("transaction(async fn) commits when fn resolves and returns its result", async () => {
    await using kv = await open();
    const result = await kv.transaction(async (tx) => {
      await tx.set("a", 1);
      assert.equal(await tx.incr("a"), 2, "the transaction reads its own writes");
      await tx.set("b", { n: 1 });
      return "done";
    });
    assert.equal(result, "done");
    assert.deepEqual(await kv.entries(), [["a", 2], ["b", { n: 1 }]]);
    assert.equal((await kv.stats()).transactions, 1);
  });

  test("transaction(async fn) rolls back when fn throws or rejects, and rethrows its error", async () => {
    await using kv = await open();
    await kv.set("a", 1);
    const boom = new Error("boom");
    await assert.rejects(
      kv.transaction(async (tx) => {
        await tx.set("a", 100);
        await tx.delete("a");
        await tx.set("c", 3);
        throw boom;
      }),
      (e: unknown) => e === boom,
    );
    await assert.rejects(
      kv.transaction((tx) => {
        tx.set("d", 4);
        return Promise.reject(new RangeError("later"));
      }),
      RangeError,
    );
    assert.deepEqual(await kv.entries(), [["a", 1]]);
  });

  test("nested transaction(async fn) calls are savepoints", async () => {
    await using kv = await open();
    await kv.transaction(async (tx) => {
      await tx.set("outer", 1);
      await assert.rejects(
        tx.transaction(async (inner) => {
          await inner.set("inner", 1);
          throw new Error("inner fails");
        }),
        /inner fails/,
      );
      assert.equal(await tx.has("inner"), false, "the failed savepoint is rolled back at once");
      await tx.transaction(async (inner) => void await inner.set("kept", 1));
    });
    assert.deepEqual(await kv.keys(), ["kept", "outer"]);
  });

  test("a failed call inside transaction(async fn) rejects alone and leaves the transaction usable", async () => {
    await using kv = await open();
    await kv.transaction(async (tx) => {
      await tx.set("a", 1);
      await assert.rejects(tx.set("b", () => 1), KvCodecError);
      await assert.rejects(tx.set("", 1), RangeError);
      await tx.set("c", 3);
    });
    assert.deepEqual(await kv.keys(), ["a", "c"]);
  });

  test("inside transaction(async fn) the store and its namespaces are in the transaction; calls from outside wait for it", async () => {
    const path = tempFile();
    await using kv = await open(path);
    const users = kv.namespace("users");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const inside = kv.transaction(async () => {
      await kv.set("a", 1);
      await users.set("u", 1);
      assert.equal(await kv.get("a"), 1, "the store itself reads the transaction's writes");
      await gate;
      throw new Error("roll back");
    });
    await new Promise((r) => setTimeout(r, 20));
    // Called from outside fn: it runs after the transaction, and sees none of it.
    const outside = kv.get("a");
    const outsideUsers = users.count();
    release();
    await assert.rejects(inside, /roll back/);
    assert.equal(await outside, undefined);
    assert.equal(await outsideUsers, 0);
    assert.equal(await kv.count(), 0);
  });

  test("a timer that fn started runs outside the transaction once it has ended, even while another one runs", async () => {
    await using kv = await open();
    let later!: Promise<boolean>;
    await kv.transaction(async (tx) => {
      await tx.set("a", 1);
      later = new Promise((r) => setTimeout(r, 20)).then(() => kv.set("b", 2));
    });
    // The timer fires while a second transaction is open: its write is not
    // the ended transaction's, nor the second one's, and waits for it.
    await assert.rejects(
      kv.transaction(async (tx) => {
        await tx.set("c", 3);
        await new Promise((r) => setTimeout(r, 60));
        throw new Error("roll back the second");
      }),
      /roll back the second/,
    );
    assert.equal(await later, true);
    assert.deepEqual(await kv.keys(), ["a", "b"]);
  });

  test("calls made without awaiting run in the order made, in one transaction", async () => {
    await using kv = await open();
    const n = await kv.transaction((tx) => {
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 1000; i++) writes.push(tx.set(`k${String(i).padStart(4, "0")}`, i));
      writes.push(tx.set("k0000", "last"));
      return Promise.all(writes).then(() => tx.count());
    });
    assert.equal(n, 1000);
    assert.equal(await kv.get("k0000"), "last");
    assert.equal(await kv.get("k0999"), 999);
  });

  test("a transaction handle rejects every call once its transaction has ended", async () => {
    await using kv = await open();
    let kept: KvAsync | undefined;
    await kv.transaction(async (tx) => {
      kept = tx;
      await tx.set("a", 1);
    });
    await assert.rejects(kept!.set("b", 2), KvClosedError);
    await assert.rejects(kept!.get("a"), /transaction has ended/);
    assert.deepEqual(await kv.keys(), ["a"]);
  });

  test("a transaction holding the write lock makes another store's write fail with KvBusyError after busyTimeout", async () => {
    const path = tempFile();
    await using a = await open(path);
    await using b = await open(path, { busyTimeout: 50 });
    await a.set("k", "a");
    await a.transaction(async (tx) => {
      await tx.set("k", "held");
      const error = await b.set("k", "b").then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof KvBusyError, `expected KvBusyError, got ${error}`);
      assert.equal(error.code, "KV_BUSY");
      assert.ok(error.cause instanceof Error, "the driver's error crosses as cause");
      assert.match(error.sql ?? "", /BEGIN|INSERT/);
    });
    await a.flush();
    assert.equal(await b.get("k"), "held");
  });

  test("using closes the store too, without waiting: later calls fail with KvClosedError, the writes stay", async () => {
    const path = tempFile();
    let kept: KvAsync | undefined;
    {
      using kv = await open(path);
      kept = kv;
      await kv.set("a", 1);
    }
    await assert.rejects(kept!.get("a"), KvClosedError);
    await using again = await open(path);
    assert.equal(await again.get("a"), 1);
  });

  test("openKvAsync refuses a codec (it cannot cross to the worker thread) before anything is opened", async () => {
    const path = join(tempDir(), "sub", "x.db");
    const codec = { encode: (v: unknown) => JSON.stringify(v), decode: (d: unknown) => JSON.parse(String(d)) };
    await assert.rejects(open(path, { codec }), /codec cannot cross to the worker thread/);
    await assert.rejects(open(path, { onCommitError: 5 as never }), TypeError);
    assert.equal(existsSync(path), false);
  });

  test("values keep the codec's rules on their way to the worker: a class instance or a cycle is refused", async () => {
    await using kv = await open();
    class Point {
      x = 1;
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await kv.set("p", "before");
    await assert.rejects(kv.set("p", new Point()), KvCodecError);
    await assert.rejects(kv.set("p", cycle), KvCodecError);
    await assert.rejects(kv.setMany([["p", Symbol("s")]]), KvCodecError);
    await assert.rejects(kv.setMany(new Map([["p", () => 1]])), KvCodecError);
    assert.equal(await kv.get("p"), "before");
    await assert.rejects(kv.set("p", 1, { ttl: (() => 5) as never }), TypeError);
    assert.equal(await kv.get("p"), "before");
  });

  test("list() fetches pages lazily: the iterator sees writes made past its cursor", async () => {
    await using kv = await open();
    await kv.setMany(Array.from({ length: 600 }, (_, i) => [`k${String(i).padStart(4, "0")}`, i] as const));
    const it = kv.list({ prefix: "k" });
    assert.equal((await it.next()).value?.key, "k0000");
    await kv.set("k9999", "late");
    const rest = await Array.fromAsync(it);
    assert.equal(rest.length, 600);
    assert.equal(rest.at(-1)!.key, "k9999");
    assert.equal(rest.at(-1)!.value, "late");
  });

  test("a transaction whose fn never settles is rolled back after transactionTimeout; the calls behind it go ahead", async () => {
    const path = tempFile();
    const kv = await open(path, { transactionTimeout: 200 });
    await kv.set("a", 1);
    let handle: KvAsync | undefined;
    const hung = kv.transaction(async (tx) => {
      handle = tx;
      await tx.set("a", 2);
      await new Promise(() => {});
    });
    const behind = kv.get("a");
    const error = await hung.then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof KvError && error.code === "TRANSACTION_TIMEOUT", String(error));
    assert.match(error.message, /^Cannot run transaction: fn did not settle within 200 ms \(transactionTimeout\)/);
    assert.equal(await behind, 1, "the call behind it ran after the rollback and never saw its write");
    await assert.rejects(
      handle!.set("b", 1),
      (e: unknown) => e instanceof KvClosedError && e.message === "Cannot set key: the transaction has ended",
    );
    // SQLite's write lock is free again: another connection writes at once.
    t.openKv(path, { busyTimeout: 0 }).set("c", 3);
    // close() waits for a hung transaction at most until its timeout.
    const again = kv.transaction(() => new Promise(() => {})).catch((e: unknown) => e);
    await kv.close();
    assert.equal((await again as KvError).code, "TRANSACTION_TIMEOUT");
    using check = t.openKv(path);
    assert.deepEqual(check.entries(), [["a", 1], ["c", 3]]);
  });

  test("the worker rolls a hung transaction back at its deadline while the calling thread is blocked", async () => {
    const path = tempFile();
    await using kv = await open(path, { transactionTimeout: 150 });
    const hung = kv.transaction(async (tx) => {
      await tx.set("x", 1);
      const until = Date.now() + 800;
      while (Date.now() < until) {
        // This thread is stuck: no timer of it can run, so only the worker can end the transaction.
      }
      // With its write lock still held, this would fail at once (busyTimeout 0) with KvBusyError.
      t.openKv(path, { busyTimeout: 0 }).set("y", 2);
      await new Promise(() => {});
    });
    await assert.rejects(hung, (e: unknown) => e instanceof KvError && e.code === "TRANSACTION_TIMEOUT");
    assert.deepEqual(await kv.entries(), [["y", 2]]);
  });

  test("transactionTimeout must be a finite number of ms > 0, refused before anything is opened", async () => {
    const path = join(tempDir(), "sub", "x.db");
    for (const bad of [0, -1, NaN, Infinity]) await assert.rejects(open(path, { transactionTimeout: bad }), RangeError);
    await assert.rejects(open(path, { transactionTimeout: "5" as never }), TypeError);
    assert.equal(existsSync(path), false);
    assert.throws(() => t.openKv(path, { transactionTimeout: 5 } as KvOptions), TypeError);
  });

  test(
    "a worker that dies: waiting and later calls reject with WORKER_EXITED, naming the call; acknowledged writes stay",
    async () => {
      const path = tempFile();
      const kv = await open(path);
      await kv.set("first", 0);
      const acked: number[] = [];
      const calls = Array.from({ length: 20_000 }, (_, i) => kv.set(`k${i}`, i).then(() => void acked.push(i)));
      await calls[0];
      await killWorker(kv);
      const late = kv.get("first");
      const results = await Promise.allSettled([...calls, late]);
      const failed = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
      assert.ok(failed.length >= 1, "the call made after the death fails");
      for (const e of failed) {
        assert.ok(e instanceof KvError && e.code === "WORKER_EXITED", String(e));
        assert.ok(!(e instanceof KvClosedError), "nobody closed the store");
        assert.match(e.message, /^Cannot (set|get) key: the store's worker thread exited/);
      }
      const inFlight = failed.filter((e) => /^Cannot set key/.test(e.message));
      for (const e of inFlight) assert.match(e.message, /may or may not have been committed/);
      await assert.rejects(kv.count(), (e: unknown) => e instanceof KvError && e.code === "WORKER_EXITED");
      await kv.close(); // nothing left to close: it returns
      using check = t.openKv(path);
      for (const i of acked) assert.equal(check.get(`k${i}`), i, `acknowledged write k${i}`);
      console.log(
        `${t.name}: worker killed with ${acked.length} of 20000 writes acknowledged, ${inFlight.length} rejected`,
      );
    },
    {
      // Seen once in a full run: the thread ended inside libsql's native call, neon (libsql's binding) found the
      // termination pending and panicked, and the abort took the whole Bun process with it.
      skip: t.runtime === "bun" && t.name.startsWith("libsql")
        ? "terminating a Bun worker inside libsql's native call aborts the process (a panic in libsql's neon binding)"
        : undefined,
    },
  );

  test("every message names the method the user called, in the synchronous store's words", async () => {
    const kv = await open();
    await kv.close();
    const sync = t.openKv();
    sync.close();
    const calls: [string, (s: AnyKv) => unknown][] = [
      ["get", (s) => s.get("a")],
      ["get with a fallback", (s) => s.get("a", 0)],
      ["getEntry", (s) => s.getEntry("a")],
      ["getMany", (s) => s.getMany(["a"])],
      ["has", (s) => s.has("a")],
      ["tags", (s) => s.tags("a")],
      ["set", (s) => s.set("a", 1)],
      ["setMany", (s) => s.setMany({ a: 1 })],
      ["delete", (s) => s.delete("a")],
      ["deleteMany", (s) => s.deleteMany(["a"])],
      ["take", (s) => s.take("a")],
      ["incr", (s) => s.incr("a")],
      ["rename", (s) => s.rename("a", "b")],
      ["ttl", (s) => s.ttl("a")],
      ["touch", (s) => s.touch("a", 1000)],
      ["expire", (s) => s.expire("a", 1000)],
      ["expireAt", (s) => s.expireAt("a", 1000)],
      ["persist", (s) => s.persist("a")],
      ["purgeExpired", (s) => s.purgeExpired()],
      ["keys", (s) => s.keys()],
      ["values", (s) => s.values()],
      ["entries", (s) => s.entries()],
      ["list", (s) => s.list()],
      ["count", (s) => s.count()],
      ["clear", (s) => s.clear()],
      ["transaction", (s) => s.transaction(() => 1)],
      ["namespace", (s) => s.namespace("n")],
      ["namespaces", (s) => s.namespaces()],
      ["dropNamespace", (s) => s.dropNamespace("n")],
      ["stats", (s) => s.stats()],
      ["checkpoint", (s) => s.checkpoint()],
      ["vacuum", (s) => s.vacuum()],
      ["optimize", (s) => s.optimize()],
      ["integrityCheck", (s) => s.integrityCheck()],
      ["backup", (s) => s.backup(join(tempDir(), "b.db"))],
      ["flush", (s) => s.flush()],
    ];
    const failure = async (f: () => unknown) => {
      try {
        await f();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    for (const [name, call] of calls) {
      const a = await failure(() => call(kv));
      const s = await failure(() => call(sync));
      assert.ok(a instanceof KvClosedError && s instanceof KvClosedError, `${name}: ${a} / ${s}`);
      assert.equal(a.message, s.message, name);
    }
  });

  test("byte arrays cross the thread exactly both ways, alone or nested, and the caller's stay usable", async () => {
    await using kv = await open();
    const big = new Uint8Array(1 << 20).map((_, i) => i & 255);
    await kv.set("big", big);
    assert.equal(big.length, 1 << 20, "the caller's bytes were copied, not handed over");
    const back = await kv.get<Uint8Array>("big");
    assert.ok(back instanceof Uint8Array && back.constructor === Uint8Array);
    assert.deepEqual(back, big);
    const view = new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 3);
    const nested = {
      f: new Float64Array([1.5, -0, NaN]),
      m: new Map<unknown, unknown>([["dv", new DataView(new Uint8Array([7, 8]).buffer)], [1, [view]]]),
      s: new Set([new Int16Array([-1, 2])]),
      deep: [[{ b: new Uint8Array([9]) }]],
    };
    await kv.set("nested", nested);
    assert.deepEqual(await kv.get("nested"), nested);
    await kv.setMany([["m1", new Uint8Array([1, 2])], ["m2", "text"], ["m3", view]]);
    assert.deepEqual(await kv.getMany(["m1", "m2", "m3"]), [new Uint8Array([1, 2]), "text", new Uint8Array([1, 2])]);
    assert.deepEqual(await kv.values({ prefix: "m" }), [new Uint8Array([1, 2]), "text", new Uint8Array([1, 2])]);
    assert.deepEqual((await kv.getEntry("m1"))?.value, new Uint8Array([1, 2]));
    assert.deepEqual((await Array.fromAsync(kv.list({ prefix: "m1" })))[0]?.value, new Uint8Array([1, 2]));
    assert.deepEqual(await kv.take("m1"), new Uint8Array([1, 2]));
  });

  test(
    "batched: a commit that fails in the worker reaches onCommitError with its class, and the next write throws it",
    async () => {
      const mnt = mountTmpfs("1m");
      try {
        const path = join(mnt.dir, "async.db");
        const told: unknown[] = [];
        let caught: unknown;
        {
          await using kv = await open(path, { durability: "batched", onCommitError: (e) => void told.push(e) });
          for (let i = 0; i < 5000 && caught === undefined; i++) {
            try {
              await kv.set(`k${i}`, "v".repeat(1000));
            } catch (error) {
              caught = error;
            }
          }
          await kv.flush().catch(() => {});
        }
        assert.ok(caught instanceof KvError && caught.code === "KV_FULL", String(caught));
        assert.ok(told.length >= 1, "onCommitError was told");
        for (const e of told) assert.ok(e instanceof KvError && e.code === "KV_FULL", String(e));
      } finally {
        mnt.unmount();
      }
    },
    { skip: cannotMount() },
  );
}

/** The calling thread never waits on SQLite: real second processes hold the lock. */
export function asyncProcessTests(test: TestFn): void {
  const rt = currentRuntime();

  test(`${rt.name}: the event loop keeps ticking while an async write waits 2 s for another process's lock`, async () => {
    const path = tempFile();
    openKv(path).close();
    await using kv = await openKvAsync(path, { busyTimeout: 20_000 });
    await kv.set("warm", 1);
    const hold = async (ms: number) => {
      let holding!: () => void;
      const held = new Promise<void>((r) => (holding = r));
      const holder = runWorker(rt, ["hold", path, String(ms)], (line) => line === "holding" && holding());
      await held;
      return { released: holder }; // not the promise itself: awaiting hold() would wait for the holder to exit
    };
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 10);
    try {
      const holder = await hold(2000);
      const start = performance.now();
      ticks.length = 0;
      assert.equal(await kv.set("k", "async"), true);
      const waited = performance.now() - start;
      const seen = [start, ...ticks];
      const gap = Math.max(...seen.slice(1).map((x, i) => x - seen[i]!));
      assert.equal((await holder.released).code, 0);
      assert.ok(waited >= 1000, `the write waited for the lock (${waited.toFixed(0)} ms)`);
      assert.ok(ticks.length >= waited / 10 / 4, `${ticks.length} ticks of 10 ms in ${waited.toFixed(0)} ms`);
      assert.ok(gap < 250, `the longest pause of the event loop was ${gap.toFixed(0)} ms`);
      console.log(
        `${rt.name}: async write waited ${waited.toFixed(0)} ms; ${ticks.length} ticks, longest pause ${
          gap.toFixed(1)
        } ms`,
      );

      // The same wait through the synchronous store stops every timer: what the test would see without the worker.
      using sync = openKv(path, { busyTimeout: 20_000 });
      const again = await hold(1000);
      ticks.length = 0;
      const before = performance.now();
      sync.set("k", "sync");
      const blocked = performance.now() - before;
      assert.equal(ticks.length, 0, "no timer ran while the synchronous write waited");
      assert.ok(blocked >= 500, `the synchronous write blocked for ${blocked.toFixed(0)} ms`);
      assert.equal((await again.released).code, 0);
    } finally {
      clearInterval(timer);
    }
    assert.equal(await kv.get("k"), "sync");
  });

  if (rt.name === "deno") {
    test("deno: under narrow permissions the worker needs read access to the package's folder, and says so", async () => {
      const path = tempFile();
      const dir = dirname(path);
      const root = fileURLToPath(new URL("../..", import.meta.url));
      const narrow = (read: string) => ({ ...rt, args: ["run", `--allow-read=${read}`, `--allow-write=${dir}`] });
      const refused = await runWorker(narrow(dir), ["async-exit", path, "immediate"]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /KvError: Cannot start the store's worker thread: Requires read access to/);
      const granted = await runWorker(narrow(`${dir},${root}`), ["async-exit", path, "immediate"]);
      assert.deepEqual(granted.lines, ["written"], granted.stderr);
    });
  }

  test(`${rt.name}: batched async writes survive a process.exit(0) after an acknowledgement, flush() or close()`, async () => {
    for (const how of ["ack", "flush", "close"]) {
      const path = tempFile();
      const r = await runWorker(rt, ["async-exit-after", path, how]);
      assert.deepEqual(r.lines, ["exiting"], r.stderr);
      using kv = openKv(path, { readOnly: true });
      assert.equal(kv.get("left"), how, `${how}: the write was committed before the process ended`);
      assert.equal(kv.count({ prefix: "n" }), how === "ack" ? 0 : 999, how);
    }
  });

  test(`${rt.name}: a process with an idle async store exits on its own, its writes committed, in both modes`, async () => {
    for (const mode of ["immediate", "batched"]) {
      const path = tempFile();
      const started = Date.now();
      const r = await runWorker(rt, ["async-exit", path, mode]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ["written"], r.stderr);
      assert.ok(Date.now() - started < 30_000);
      using kv = openKv(path, { readOnly: true });
      assert.equal(kv.get("left"), mode, `${mode}: the write was committed before the process ended`);
    }
  });
}

/** better-sqlite3 and libsql in the worker: the driver named by its module or given as its class. */
export function betterAsyncTests(test: TestFn): void {
  const load = (globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } }).process
    .getBuiltinModule;
  const { createRequire } = load("node:module") as { createRequire(url: string): (id: string) => unknown };
  for (const module of ["better-sqlite3", "libsql"] as const) {
    test(`openKvAsync over ${module}: by module name or by class, the worker loads the driver`, async () => {
      const Database = createRequire(import.meta.url)(module) as BetterDatabaseClass;
      const path = tempFile();
      {
        await using byName = await openBetterAsync(path, { Database: module });
        await byName.set("a", 1);
        assert.equal((await byName.stats()).driver, module);
      }
      {
        await using byClass = await openBetterAsync(path, { Database });
        await byClass.incr("a");
        assert.equal((await byClass.stats()).driver, module);
      }
      using sync = openBetter(path, { Database });
      assert.equal(sync.get("a"), 2);
      await assert.rejects(openBetterAsync(path, {} as never), /options\.Database must name the driver's module/);
    });
  }
}
