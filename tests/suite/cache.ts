import { assert } from "../assert.ts";
import { createHash } from "node:crypto";
import { getOrSet, memoize } from "../../src/cache.ts";
import { openKvAsync } from "../../mod.ts";
import type { Target, TestFn } from "../harness.ts";
import { currentRuntime, runWorker } from "./process.ts";
import { manualClock, tempFile } from "../util.ts";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The caching half: memoize and getOrSet (kv-cache's scache, for servers). */
export function cacheTests(test: TestFn, t: Target): void {
  test("memoize and getOrSet refuse a store from openKvAsync, saying what to pass", async () => {
    await using kv = await openKvAsync();
    const says = /synchronous store from openKv\(\).*Open the same file with openKv\(\)/;
    assert.throws(() => memoize((n: number) => n, { kv: kv as never, name: "f" }), says);
    assert.throws(() => getOrSet(kv as never, "k", () => 1), says);
    assert.throws(() => memoize((n: number) => n, { kv: {} as never, name: "f" }), /store from openKv\(\), received/);
  });

  test("memoize keeps a sync function sync and an async one async, hits included", async () => {
    using kv = t.openKv();
    let calls = 0;
    const double = memoize((n: number) => (calls++, n * 2), { kv, name: "double" });
    assert.equal(double(2), 4);
    assert.equal(double(2), 4);
    assert.equal(calls, 1);
    // deno-lint-ignore require-await
    const later = memoize(async (n: number) => (calls++, n * 3), { kv, name: "later" });
    const first = later(2);
    assert.ok(first instanceof Promise);
    assert.equal(await first, 6);
    const hit = later(2);
    assert.ok(hit instanceof Promise, "a hit of an async function is a promise too");
    assert.equal(await hit, 6);
    const thenable = memoize((n: number) => Promise.resolve(n + 1), { kv, name: "thenable" });
    assert.equal(await thenable(1), 2);
    assert.ok(thenable(1) instanceof Promise, "a function seen returning promises answers hits with promises");
    assert.equal(calls, 2);
  });

  test("entries live in kv.namespace(namespace) under name:key; key() names them", () => {
    using kv = t.openKv();
    function area(w: number, h: number) {
      return w * h;
    }
    const m = memoize(area, { kv });
    const other = memoize((x: string) => x, { kv, name: "echo", namespace: "mine", key: (x) => `k-${x}` });
    m(2, 3);
    other("a");
    assert.deepEqual(kv.namespace("memoize").keys(), [m.key(2, 3)]);
    assert.match(m.key(2, 3), /^area:[0-9a-f]{64}$/);
    assert.equal(kv.namespace("memoize").get(m.key(2, 3)), 6);
    assert.equal(other.key("a"), "echo:k-a");
    assert.equal(kv.namespace("mine").get("echo:k-a"), "a");
  });

  test("bad options are refused: a nameless function, unknown options, swr or lease on a sync function", () => {
    using kv = t.openKv();
    const f = (x: number) => x;
    const anonymous = Object.defineProperty((x: number) => x, "name", { value: "" });
    assert.throws(() => memoize(anonymous, { kv }), /no name/);
    assert.throws(() => memoize(f, { kv, ttl_ms: 5 } as never), TypeError);
    assert.throws(() => memoize(f, {} as never), TypeError);
    assert.throws(() => memoize(f, { kv: {} as never }), TypeError);
    assert.throws(() => memoize(f, { kv, ttl: 0 }), RangeError);
    assert.throws(() => memoize(f, { kv, ttl: NaN }), RangeError);
    assert.throws(() => memoize(f, { kv, ttl: 10, staleWhileRevalidate: 10 }), /async/);
    assert.throws(() => memoize(f, { kv, lease: 10 }), /async/);
    // deno-lint-ignore require-await
    const asyncFn = async (x: number) => x;
    assert.throws(() => memoize(asyncFn, { kv, name: "a", staleWhileRevalidate: 10 }), /needs a ttl/);
    assert.throws(() => memoize(f, { kv, memory: { max: 0 } }), RangeError);
    assert.throws(() => memoize(f, { kv, memory: { size: 5 } } as never), TypeError);
    assert.throws(() => memoize(f, { kv, tags: "t" as never }), TypeError);
    assert.throws(() => memoize(f, { kv, name: "n", namespace: "a/b" }), RangeError);
    assert.throws(() => getOrSet(kv, "k", () => 1, { ttl: -1 }), RangeError);
    assert.throws(() => getOrSet(kv, "k", () => 1, { memory: { max: 1 } } as never), TypeError);
    assert.deepEqual(kv.namespace("memoize").keys(), []);
    assert.equal(kv.has("k"), false);
  });

  test("a name or key that cannot form a key is refused before the function runs", async () => {
    using kv = t.openKv();
    let runs = 0;
    const f = (x: number) => (runs++, x);
    // "name:" and the 64-character hash must fit 2048 UTF-8 bytes; with key(), "name:" and one character.
    assert.throws(() => memoize(f, { kv, name: "n".repeat(1984) }), /name must be at most 1983 UTF-8 bytes/);
    assert.equal(memoize(f, { kv, name: "n".repeat(1983) })(1), 1);
    assert.throws(() => memoize(f, { kv, name: "é".repeat(1024), key: String }), RangeError);
    assert.equal(memoize(f, { kv, name: "n".repeat(2046), key: String })(2), 2);
    assert.throws(() => memoize(f, { kv, name: "bad\0name" }), RangeError);
    assert.throws(() => memoize(f, { kv, name: "\ud800" }), RangeError);
    assert.equal(runs, 2, "only the calls of the memoized functions that could be made ran f");
    assert.throws(() => getOrSet(kv, "k".repeat(2049), () => runs++), RangeError);
    assert.throws(() => getOrSet(kv, "", () => runs++), RangeError);
    // deno-lint-ignore require-await
    await assert.rejects(async () => await getOrSet(kv, "k".repeat(2049), async () => runs++), RangeError);
    assert.equal(runs, 2, "getOrSet refused the key before computing");
  });

  test("a result computed inside a transaction that rolls back never stays in L1", () => {
    using kv = t.openKv();
    let runs = 0;
    const f = memoize((x: number) => ({ x, run: ++runs }), { kv, name: "f", memory: { max: 10 } });
    assert.throws(() =>
      kv.transaction(() => {
        assert.deepEqual(f(1), { x: 1, run: 1 });
        throw new Error("roll back");
      })
    );
    assert.equal(f.peek(1), undefined, "the file never held it");
    assert.deepEqual(f(1), { x: 1, run: 2 }, "computed again, not served from memory");
    kv.transaction((tx) => {
      assert.throws(() =>
        tx.transaction(() => {
          f(2);
          throw new Error("roll back the savepoint");
        })
      );
      assert.deepEqual(f(2), { x: 2, run: 4 }, "inside the outer transaction too");
    });
    assert.deepEqual(f(2), { x: 2, run: 4 }, "what the outer transaction committed is served");
    assert.equal(f.stats().computes, 4);
  });

  test("the derived key is SHA-256 of the canonical arguments: key order ignored, types kept apart", () => {
    using kv = t.openKv();
    const id = memoize((...args: unknown[]) => args.length, { kv, name: "id" });
    assert.equal(id.key({ a: 1, b: 2 }), id.key({ b: 2, a: 1 }));
    const distinct = [
      1,
      "1",
      1n,
      true,
      null,
      undefined,
      -0,
      0,
      [1],
      { 0: 1 },
      new Date(1),
      new Map([[1, 1]]),
      new Set([1]),
    ];
    assert.equal(new Set(distinct.map((a) => id.key(a))).size, distinct.length);
    assert.notEqual(id.key(new Uint8Array([1])), id.key(new Uint16Array([1])));
    assert.notEqual(id.key(1, 2), id.key([1, 2]));
    // The encoding is fixed by FORMAT.md, so every runtime derives the same key.
    const text = '1\n["a",{"a":["a",1,["b","2"]],"b":["D",5]}]';
    const expected = createHash("sha256").update(text).digest("hex");
    assert.equal(id.key({ b: new Date(5), a: [1, 2n] }), `id:${expected}`);
    const plain = createHash("sha256").update('1\n["a","x",1.5,true,null,"\u00e9"]').digest("hex");
    assert.equal(id.key("x", 1.5, true, null, "é"), `id:${plain}`, "primitive arguments encode the same way");
    for (const bad of [() => 1, Symbol("s"), new (class Point {})()]) {
      assert.throws(() => id(bad), TypeError);
    }
    assert.equal(id({ b: 2, a: 1 }), 1);
    assert.equal(id.stats().computes, 1);
    assert.equal(id({ a: 1, b: 2 }), 1);
    assert.equal(id.stats().computes, 1, "both key orders share one entry");
  });

  test("ttl follows the store's clock; when decides what is cached", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    let calls = 0;
    const f = memoize((n: number) => (calls++, n), { kv, name: "f", ttl: 100, when: (r) => r > 0 });
    f(1);
    clock.advance(99);
    f(1);
    assert.equal(calls, 1);
    clock.advance(1);
    f(1);
    assert.equal(calls, 2, "recomputed once the ttl passed");
    f(0);
    f(0);
    assert.equal(calls, 4, "when() refused to cache 0");
    assert.equal(f.peek(0), undefined);
  });

  test("undefined and null results are cached; errors are not, and reach every waiting caller", async () => {
    using kv = t.openKv();
    let calls = 0;
    const nothing = memoize((n: number) => (calls++, n > 0 ? null : undefined), { kv, name: "nothing" });
    nothing(0);
    nothing(0);
    nothing(1);
    nothing(1);
    assert.equal(calls, 2);
    let fail = true;
    const flaky = memoize(async (n: number) => {
      calls++;
      await tick();
      if (fail) throw new Error(`boom ${n}`);
      return n;
    }, { kv, name: "flaky" });
    const waiting = [flaky(1), flaky(1), flaky(1)];
    for (const p of waiting) await assert.rejects(p, /boom 1/);
    assert.equal(flaky.stats().computes, 1);
    assert.equal(flaky.stats().errors, 1);
    assert.equal(flaky.stats().waits, 2);
    fail = false;
    assert.equal(await flaky(1), 1, "the error was not cached");
    const sync = memoize((n: number): number => {
      throw new RangeError(`no ${n}`);
    }, { kv, name: "sync" });
    assert.throws(() => sync(1), /no 1/);
    assert.equal(sync.peek(1), undefined);
  });

  test("single flight: concurrent calls with the same key share one computation", async () => {
    using kv = t.openKv();
    let calls = 0;
    const slow = memoize(async (k: string) => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      return k + "!";
    }, { kv, name: "slow" });
    const results = await Promise.all(Array.from({ length: 10 }, () => slow("x")));
    assert.deepEqual(results, Array(10).fill("x!"));
    assert.equal(calls, 1);
    assert.equal(slow.stats().waits, 9);
    assert.equal(await slow("y"), "y!");
    assert.equal(calls, 2);
  });

  test("staleWhileRevalidate serves the stale result at once while one refresh runs; a failed refresh keeps it", async () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    let version = 1;
    let fail = false;
    let refreshes = 0;
    const f = memoize(async (_k: string) => {
      refreshes++;
      await tick();
      if (fail) throw new Error("upstream down");
      return version;
    }, { kv, name: "f", ttl: 100, staleWhileRevalidate: 1000 });
    assert.equal(await f("a"), 1);
    version = 2;
    clock.advance(150);
    assert.equal(await f("a"), 1, "stale, at once");
    assert.equal(await f("a"), 1, "still stale while the refresh runs");
    assert.equal(refreshes, 2, "one refresh for both stale calls");
    await tick();
    await tick();
    assert.equal(await f("a"), 2, "the refresh landed");
    assert.equal(f.stats().stale, 2);
    version = 3;
    fail = true;
    clock.advance(150);
    assert.equal(await f("a"), 2);
    await tick();
    await tick();
    assert.equal(await f("a"), 2, "a failed refresh keeps the stale entry");
    assert.equal(f.stats().errors >= 1, true);
    clock.advance(2000);
    fail = false;
    assert.equal(await f("a"), 3, "past the stale window the entry is gone and recomputed");
  });

  test("tags on entries invalidate across the functions sharing a namespace", async () => {
    using kv = t.openKv();
    // deno-lint-ignore require-await
    const profile = memoize(async (id: number) => ({ id, name: `u${id}` }), {
      kv,
      name: "profile",
      tags: (u) => [`user:${u.id}`],
    });
    const feed = memoize((id: number) => [`post by ${id}`], { kv, name: "feed", tags: ["feeds"] });
    await profile(1);
    await profile(2);
    feed(1);
    const ns = kv.namespace("memoize");
    assert.deepEqual(ns.tags(feed.key(1)), ["feeds"]);
    assert.equal(ns.deleteMany({ tag: "user:1" }), 1);
    assert.equal(profile.peek(1), undefined);
    assert.deepEqual(profile.peek(2), { id: 2, name: "u2" });
    assert.equal(ns.deleteMany({ tag: "feeds" }), 1);
    assert.equal(feed.peek(1), undefined);
  });

  test("memory: L1 hits, bounded by max, least recently used evicted, expiry checked on every hit", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    let calls = 0;
    const f = memoize((n: number) => (calls++, n), { kv, name: "f", ttl: 100, memory: { max: 2 } });
    f(1);
    f(2);
    f(1);
    f(1);
    assert.equal(f.stats().memoryHits, 2);
    f(3); // evicts 2, the least recently used
    f(2);
    assert.equal(f.stats().memoryHits, 2, "2 came back from the file, not memory");
    assert.equal(f.stats().hits, 3);
    assert.equal(calls, 3);
    clock.advance(100);
    f(1);
    assert.equal(calls, 4, "an expired L1 entry is never served");
  });

  test("an L1 hit never serves a value changed, deleted or expired through another connection of this process", () => {
    const path = tempFile();
    const clock = manualClock();
    using kv = t.openKv(path, { now: clock.now });
    using other = t.openKv(path, { now: clock.now });
    let n = 0;
    const f = memoize((k: string) => `${k}${++n}`, { kv, name: "f", memory: { max: 10 } });
    assert.equal(f("a"), "a1");
    assert.equal(f("a"), "a1");
    const ns = other.namespace("memoize");
    ns.set(f.key("a"), "changed");
    other.flush(); // committed for kv to read (a no-op in the default mode)
    assert.equal(f("a"), "changed");
    ns.delete(f.key("a"));
    other.flush(); // committed for kv to read (a no-op in the default mode)
    assert.equal(f("a"), "a2");
    assert.equal(f("a"), "a2");
    ns.expire(f.key("a"), 10);
    other.flush(); // committed for kv to read (a no-op in the default mode)
    clock.advance(10);
    assert.equal(f("a"), "a3");
    ns.set(f.key("a"), "renamed-in");
    ns.rename(f.key("a"), "elsewhere");
    other.flush(); // committed for kv to read (a no-op in the default mode)
    assert.equal(f("a"), "a4");
    assert.equal(f("b"), "b5");
    ns.clear();
    other.flush(); // committed for kv to read (a no-op in the default mode)
    assert.equal(f("b"), "b6");
    kv.namespace("memoize").set(f.key("b"), "same connection");
    assert.equal(f("b"), "same connection");
    assert.equal(f.stats().memoryHits, 2);
  });

  test("invalidate, clear and peek touch only this function's entries", () => {
    using kv = t.openKv();
    let calls = 0;
    const a = memoize((n: number) => (calls++, n), { kv, name: "a", memory: { max: 5 } });
    const b = memoize((n: number) => n, { kv, name: "b" });
    a(1);
    a(2);
    b(1);
    assert.equal(a.peek(1), 1);
    assert.equal(a.peek(9), undefined);
    assert.equal(calls, 2, "peek computes nothing");
    assert.equal(a.invalidate(1), true);
    assert.equal(a.invalidate(1), false);
    a(1);
    assert.equal(calls, 3, "invalidate reaches L1 too");
    assert.equal(a.clear(), 2);
    assert.equal(b.peek(1), 1);
    assert.deepEqual(Object.keys(a.stats()).sort(), [
      "computes",
      "errors",
      "hits",
      "memoryHits",
      "misses",
      "stale",
      "waits",
    ]);
  });

  test("getOrSet: sync or async by compute, with ttl, when and tags", async () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    let calls = 0;
    assert.equal(getOrSet(kv, "n", () => (calls++, 7), { ttl: 50, tags: ["nums"] }), 7);
    assert.equal(getOrSet(kv, "n", () => (calls++, 8)), 7);
    assert.deepEqual(kv.tags("n"), ["nums"]);
    clock.advance(50);
    assert.equal(getOrSet(kv, "n", () => (calls++, 9)), 9);
    // deno-lint-ignore require-await
    const p = getOrSet(kv, "p", async () => (calls++, "async"));
    assert.ok(p instanceof Promise);
    assert.equal(await p, "async");
    // deno-lint-ignore require-await
    assert.equal(await getOrSet(kv, "p", async () => "again"), "async");
    assert.equal(getOrSet(kv, "w", () => 0, { when: (v) => v > 0 }), 0);
    assert.equal(kv.has("w"), false);
    assert.equal(calls, 3);
    const [x, y] = await Promise.all([
      getOrSet(kv, "flight", async () => (calls++, await tick(), "one")),
      getOrSet(kv, "flight", async () => (calls++, await tick(), "two")),
    ]);
    assert.deepEqual([x, y], ["one", "one"]);
    assert.equal(calls, 4);
  });
}

/** The cache across real processes on one file. */
export function cacheProcessTests(test: TestFn, t: Target): void {
  const rt = currentRuntime();

  test(`lease: four ${rt.name} processes asking for one missing key compute it once`, async () => {
    const path = tempFile();
    t.openKv(path).close();
    const runs = await Promise.all(Array.from({ length: 4 }, () => runWorker(rt, ["lease", path, "2000"])));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const lines = runs.map((r) => r.lines[0]!);
    for (const line of lines) assert.match(line, /^forecast for Oslo\|waited [01]$/);
    using kv = t.openKv(path);
    assert.equal(kv.namespace("count").get("computations"), 1);
    assert.equal(lines.filter((l) => l.endsWith("waited 1")).length, 3, "three processes waited on the lease");
    assert.equal(kv.namespace("memoize").namespace("lease").count(), 0, "the lease was released");
  });

  test(`an L1 entry changed by another ${rt.name} process is not served after the task it changed in`, async () => {
    const path = tempFile();
    using kv = t.openKv(path);
    let calls = 0;
    const f = memoize((city: string) => `computed ${city} ${++calls}`, { kv, name: "f", memory: { max: 10 } });
    assert.equal(f("Oslo"), "computed Oslo 1");
    assert.equal(f("Oslo"), "computed Oslo 1");
    const r = await runWorker(rt, ["memo-set", path, f.key("Oslo")]);
    assert.deepEqual(r.lines, ["set"], r.stderr);
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(f("Oslo"), "from another process");
    assert.equal(f.stats().memoryHits, 1);
  });
}
