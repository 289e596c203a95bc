import fc from "fast-check";
import { assert } from "../assert.ts";
import type { Target, TestFn } from "../harness.ts";
import type { KvOptions } from "../../src/options.ts";
import { KvClosedError } from "../../src/errors.ts";
import {
  AtomicOperation,
  fromKv,
  Kv,
  type KvEntryMaybe,
  type KvKey,
  type KvKeyPart,
  KvU64,
  openKv,
} from "../../src/denokv/mod.ts";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { currentRuntime, runCommand, until } from "./process.ts";
import { held, manualClock, tempDir, tempFile } from "../util.ts";

const typeError = (message: string) => ({ name: "TypeError", message });
const VERSIONSTAMP = /^[0-9a-f]{20}$/;

/** Deno KV's order of two key parts (its documentation's rule), for checking the encoding's order. */
function comparePart(a: KvKeyPart, b: KvKeyPart): number {
  const rank = (p: KvKeyPart) =>
    p instanceof Uint8Array
      ? 0
      : typeof p === "string"
      ? 1
      : typeof p === "bigint"
      ? 2
      : typeof p === "number"
      ? 3
      : p === false
      ? 4
      : 5;
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (a instanceof Uint8Array || typeof a === "string") {
    const x = typeof a === "string" ? new TextEncoder().encode(a) : a;
    const y = typeof b === "string" ? new TextEncoder().encode(b) : b as Uint8Array;
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  }
  if (typeof a === "bigint") return a < (b as bigint) ? -1 : a > (b as bigint) ? 1 : 0;
  if (typeof a === "number") {
    const n = b as number;
    if (Number.isNaN(a) || Number.isNaN(n)) return Number.isNaN(a) ? (Number.isNaN(n) ? 0 : 1) : -1;
    if (a === n) return Object.is(a, -0) && Object.is(n, 0) ? -1 : Object.is(a, 0) && Object.is(n, -0) ? 1 : 0;
    return a < n ? -1 : 1;
  }
  return 0;
}

function compareKeys(a: KvKey, b: KvKey): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = comparePart(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

const part: fc.Arbitrary<KvKeyPart> = fc.oneof(
  fc.uint8Array({ maxLength: 4 }).map((b) => b.map((x) => (x % 3 === 0 ? 0 : x))),
  fc.string({ maxLength: 4, unit: fc.constantFrom("a", "b", "\0", "é", "\uffff", "😀") }),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  fc.oneof(fc.double(), fc.constantFrom(0, -0, 1, -1, Infinity, -Infinity, NaN)),
  fc.boolean(),
);

/** The Deno KV facade (`./deno-kv`) over one adapter's synchronous store. */
export function denoKvTests(test: TestFn, t: Target): void {
  const open = (path = tempFile(), options?: KvOptions): Kv => fromKv(t.openKv(path, { table: "denokv", ...options }));

  test("deno-kv: keys of every part type list in Deno KV's order and read back as written", async () => {
    using kv = open();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.array(part, { minLength: 1, maxLength: 3 }), { maxLength: 12 }),
        async (keys) => {
          const prefixed = keys.map((k) => ["p", ...k]);
          for (const [i, key] of prefixed.entries()) await kv.set(key, i);
          const listed = [];
          for await (const e of kv.list({ prefix: ["p"] })) listed.push(e);
          const distinct = [...new Map(prefixed.map((k) => [JSON.stringify(k, (_, v) => tag(v)), k])).values()];
          const expected = distinct.sort(compareKeys);
          assert.deepEqual(listed.map((e) => e.key), expected);
          for (const e of listed) assert.deepEqual((await kv.get(e.key)).key, e.key);
          for await (const e of kv.list({ prefix: ["p"] })) await kv.delete(e.key);
        },
      ),
      { numRuns: 40 },
    );
  });

  test("deno-kv: get, getMany and set: a missing key is null, one versionstamp per commit, strictly increasing", async () => {
    using kv = open();
    assert.deepEqual(await kv.get(["missing"]), { key: ["missing"], value: null, versionstamp: null });
    const a = await kv.set(["a"], { n: 1 });
    const b = await kv.set(["b"], "two");
    assert.equal(a.ok, true);
    assert.match(a.versionstamp, VERSIONSTAMP);
    assert.ok(b.versionstamp > a.versionstamp);
    assert.deepEqual(await kv.get(["a"]), { key: ["a"], value: { n: 1 }, versionstamp: a.versionstamp });
    const many = await kv.getMany([["b"], ["x"], ["a"]]);
    assert.deepEqual(many.map((e) => e.value), ["two", null, { n: 1 }]);
    assert.deepEqual(many.map((e) => e.versionstamp), [b.versionstamp, null, a.versionstamp]);
    const both = await kv.atomic().set(["c"], 1).set(["d"], 2).commit();
    assert.ok(both.ok);
    assert.equal((await kv.get(["c"])).versionstamp, both.versionstamp, "shared by every mutation of a commit");
    assert.equal((await kv.get(["d"])).versionstamp, both.versionstamp);
    await kv.delete(["a"]);
    assert.equal((await kv.get(["a"])).value, null);
    await assert.rejects(kv.getMany(Array.from({ length: 11 }, (_, i) => [i])), typeError("Too many ranges (max 10)"));
  });

  test("deno-kv: versionstamps increase across two connections to one file", async () => {
    const path = tempFile();
    using one = open(path);
    using two = open(path);
    let last = "";
    for (let i = 0; i < 20; i++) {
      const { versionstamp } = await (i % 2 ? one : two).set(["k"], i);
      assert.ok(versionstamp > last, `${versionstamp} > ${last}`);
      last = versionstamp;
    }
    assert.equal((await one.get(["k"])).versionstamp, last);
  });

  test("deno-kv: values of every type round-trip, KvU64 among them", async () => {
    using kv = open();
    const values: unknown[] = [
      null,
      undefined,
      true,
      -0,
      NaN,
      2n ** 70n,
      "text\0with nul",
      new Uint8Array([0, 1, 255]),
      [1, "a", { b: [null] }],
      new Date(0),
      new Map([["k", 1]]),
      new Set([1, 2]),
      new KvU64(42n),
    ];
    for (const [i, value] of values.entries()) await kv.set(["v", i], value);
    for (const [i, value] of values.entries()) assert.deepEqual((await kv.get(["v", i])).value, value, String(i));
    assert.throws(() => kv.atomic().set(["f"], () => 1));
  });

  test("deno-kv: atomic checks: a stale or present versionstamp fails the commit and nothing is written", async () => {
    const path = tempFile();
    using kv = open(path);
    const first = await kv.set(["n"], 1);
    assert.deepEqual(await kv.atomic().check({ key: ["n"], versionstamp: null }).set(["n"], 2).commit(), { ok: false });
    const ok = await kv.atomic().check({ key: ["n"], versionstamp: first.versionstamp }).set(["n"], 3).set(["m"], 1)
      .commit();
    assert.equal(ok.ok, true);
    const stale = await kv.atomic().check({ key: ["n"], versionstamp: first.versionstamp }).set(["m"], 2).delete(["n"])
      .enqueue("never").commit();
    assert.deepEqual(stale, { ok: false });
    assert.deepEqual([(await kv.get(["n"])).value, (await kv.get(["m"])).value], [3, 1]);
    using core = t.openKv(path, { table: "denokv" });
    assert.equal(core.queue("").size(), 0, "nor enqueued");
    assert.ok((await kv.atomic().check({ key: ["new"], versionstamp: null }).set(["new"], 1).commit()).ok);
    const entry = await kv.get(["new"]);
    assert.ok((await kv.atomic().check(entry).commit()).ok, "an entry is a check");
    await assert.rejects(
      kv.atomic().check({ key: ["n"], versionstamp: "nope" }).set(["x"], 1).commit(),
      typeError("invalid versionstamp"),
    );
    assert.equal((await kv.get(["x"])).value, null);
  });

  test("deno-kv: sum wraps modulo 2^64, min and max take the bound, a non-U64 in the database or operand throws and writes nothing", async () => {
    using kv = open();
    await kv.atomic().sum(["s"], 5n).min(["lo"], 10n).max(["hi"], 10n).commit();
    assert.deepEqual((await kv.getMany([["s"], ["lo"], ["hi"]])).map((e) => e.value), [
      new KvU64(5n),
      new KvU64(10n),
      new KvU64(10n),
    ]);
    await kv.atomic().sum(["s"], 2n ** 64n - 1n).min(["lo"], 3n).max(["hi"], 3n).commit();
    assert.deepEqual((await kv.getMany([["s"], ["lo"], ["hi"]])).map((e) => e.value), [
      new KvU64(4n),
      new KvU64(3n),
      new KvU64(10n),
    ]);
    await kv.set(["text"], "x");
    await assert.rejects(
      kv.atomic().set(["y"], 1).sum(["text"], 1n).commit(),
      typeError("Failed to perform 'sum' mutation on a non-U64 value in the database"),
    );
    assert.equal((await kv.get(["y"])).value, null, "rolled back");
    await assert.rejects(
      kv.atomic().mutate({ type: "sum", key: ["s"], value: 1 as unknown as KvU64 }).commit(),
      typeError("Cannot sum KvU64 with Number"),
    );
    await assert.rejects(
      kv.atomic().mutate({ type: "max", key: ["s"], value: "1" as unknown as KvU64 }).commit(),
      typeError("Failed to perform 'max' mutation on a non-U64 operand"),
    );
    assert.throws(() => new KvU64(-1n), { name: "RangeError" });
    assert.throws(() => new KvU64(2n ** 64n), { name: "RangeError" });
    assert.throws(() => new KvU64(1 as unknown as bigint), { name: "TypeError" });
    assert.throws(() => kv.atomic().sum(["s"], -1n), { name: "RangeError" });
    assert.equal(new KvU64(7n).valueOf(), 7n);
  });

  test("deno-kv: a first commit that fails inside its transaction leaves the file's next commits working", async () => {
    const path = tempFile();
    {
      using core = t.openKv(path, { table: "denokv" });
      core.set("\u0003o\u0001", "text"); // the stored form of ["n"]: bytes 02 6E 00, each + 1 (FORMAT.md)
    }
    using kv = open(path);
    assert.equal((await kv.get(["n"])).value, "text");
    await assert.rejects(kv.atomic().sum(["n"], 1n).commit(), { name: "TypeError" });
    const { versionstamp } = await kv.set(["n"], new KvU64(1n));
    assert.match(versionstamp, VERSIONSTAMP);
    assert.ok((await kv.atomic().sum(["n"], 1n).commit()).ok);
    assert.deepEqual((await kv.get(["n"])).value, new KvU64(2n));
  });

  test("deno-kv: mutate checks each mutation's shape at once", async () => {
    using kv = open();
    const op = kv.atomic();
    assert.throws(() => op.mutate({ type: "nope", key: ["a"] } as never), typeError("Invalid mutation type"));
    assert.throws(
      () => op.mutate({ type: "set", key: ["a"] } as never),
      typeError("Invalid mutation 'set' without value"),
    );
    assert.throws(
      () => op.mutate({ type: "delete", key: ["a"], value: 1 } as never),
      typeError("Invalid mutation 'delete' with value"),
    );
    await op.mutate({ type: "set", key: ["a"], value: 1, expireIn: 1000 }, {
      type: "sum",
      key: ["n"],
      value: new KvU64(2n),
    })
      .commit();
    assert.deepEqual((await kv.getMany([["a"], ["n"]])).map((e) => e.value), [1, new KvU64(2n)]);
    await kv.atomic().mutate({ type: "delete", key: ["a"] }).commit();
    assert.equal((await kv.get(["a"])).value, null);
  });

  test("deno-kv: expireIn follows the store's clock; a bad expireIn throws and writes nothing", async () => {
    const clock = manualClock();
    using kv = open(tempFile(), { now: clock.now });
    await kv.set(["session"], "s", { expireIn: 1000 });
    await kv.set(["keep"], "k");
    clock.advance(999);
    assert.equal((await kv.get(["session"])).value, "s");
    clock.advance(1);
    assert.equal((await kv.get(["session"])).value, null);
    const listed = [];
    for await (const e of kv.list({ prefix: [] })) listed.push(e.key);
    assert.deepEqual(listed, [["keep"]]);
    for (const bad of [-1, 1.5, NaN, Infinity]) {
      const message = typeError(`expireIn must be a non-negative integer: received ${bad}`);
      await assert.rejects(kv.set(["bad"], 1, { expireIn: bad }), message);
      assert.throws(() => kv.atomic().set(["bad"], 1, { expireIn: bad }), message, "at once, as Deno KV");
      assert.throws(() => kv.atomic().mutate({ type: "set", key: ["bad"], value: 1, expireIn: bad }), message);
    }
    await assert.rejects(kv.set(["bad"], 1, { expireIn: Number.MAX_SAFE_INTEGER }), typeError("expireIn is too large"));
    assert.equal((await kv.get(["bad"])).value, null);
  });

  test("deno-kv: list selectors: prefix without the prefix key, start and end bounds, reverse, limit, small batches", async () => {
    using kv = open();
    await kv.set(["a"], "prefix itself");
    for (const k of ["b", "c", "d", "e"]) await kv.set(["a", k], k);
    await kv.set(["b"], "after");
    const keys = async (it: AsyncIterable<{ key: KvKey }>) => {
      const out = [];
      for await (const e of it) out.push(e.key.join("/"));
      return out;
    };
    assert.deepEqual(await keys(kv.list({ prefix: ["a"] })), ["a/b", "a/c", "a/d", "a/e"]);
    assert.deepEqual(await keys(kv.list({ prefix: ["a"], start: ["a", "c"] })), ["a/c", "a/d", "a/e"]);
    assert.deepEqual(await keys(kv.list({ prefix: ["a"], end: ["a", "d"] })), ["a/b", "a/c"]);
    assert.deepEqual(await keys(kv.list({ start: ["a", "c"], end: ["b"] })), ["a/c", "a/d", "a/e"]);
    assert.deepEqual(await keys(kv.list({ prefix: ["a"] }, { reverse: true, limit: 3 })), ["a/e", "a/d", "a/c"]);
    assert.deepEqual(await keys(kv.list({ prefix: ["a"] }, { batchSize: 1 })), ["a/b", "a/c", "a/d", "a/e"]);
    assert.deepEqual(await keys(kv.list({ prefix: [] })), ["a", "a/b", "a/c", "a/d", "a/e", "b"]);
  });

  test("deno-kv: cursors are Deno KV's (base64url of the key after the prefix) and resume a listing either way", async () => {
    using kv = open();
    for (const k of ["b", "c", "d", "e"]) await kv.set(["a", k], k);
    const it = kv.list({ prefix: ["a"] }, { limit: 1 });
    assert.throws(() => it.cursor, { message: "Cannot get cursor before first iteration" });
    for await (const _ of it);
    assert.equal(it.cursor, "AmIA", "0x02 'b' 0x00");
    const rest = [];
    for await (const e of kv.list({ prefix: ["a"] }, { cursor: it.cursor })) rest.push(e.value);
    assert.deepEqual(rest, ["c", "d", "e"]);
    const back = kv.list({ prefix: ["a"] }, { reverse: true, limit: 2 });
    for await (const _ of back);
    const before = [];
    for await (const e of kv.list({ prefix: ["a"] }, { reverse: true, cursor: back.cursor })) before.push(e.value);
    assert.deepEqual(before, ["c", "b"]);
    const all = kv.list({ prefix: ["a"] });
    for await (const _ of all);
    assert.equal(all.cursor, "", "a finished listing's cursor is empty");
    await assert.rejects(kv.list({ prefix: ["a"] }, { cursor: "!!" }).next(), typeError("invalid cursor"));
    await assert.rejects(
      kv.list({ prefix: ["a"], start: ["a", "c"] }, { cursor: "AmIA", reverse: false }).next(),
      typeError("cursor out of bounds"),
    );
  });

  test("deno-kv: list rejects bad selectors and options with Deno KV's messages", async () => {
    using kv = open();
    assert.throws(
      () => kv.list({ start: ["a"] } as never),
      typeError("Selector must specify either 'prefix' or both 'start' and 'end' key"),
    );
    assert.throws(
      () => kv.list({ prefix: ["a"], start: ["a", 1], end: ["a", 2] } as never),
      typeError("Selector can not specify both 'start' and 'end' key when specifying 'prefix'"),
    );
    await assert.rejects(
      kv.list({ prefix: ["a"], start: ["b"] }).next(),
      typeError("Start key is not in the keyspace defined by prefix"),
    );
    await assert.rejects(
      kv.list({ prefix: ["a"], end: ["a"] }).next(),
      typeError("End key is not in the keyspace defined by prefix"),
    );
    await assert.rejects(kv.list({ start: ["b"], end: ["a"] }).next(), typeError("Start key is greater than end key"));
    for (const limit of [0, 2.3]) {
      assert.throws(() => kv.list({ prefix: [] }, { limit }), {
        message: `Limit must be a positive integer: received ${limit}`,
      });
    }
    for (const batchSize of [-1, 2.3]) {
      assert.throws(() => kv.list({ prefix: [] }, { batchSize }), {
        message: `batchSize must be a positive integer: received ${batchSize}`,
      });
    }
    assert.throws(() => kv.list({ prefix: [] }, { batchSize: 1001 }), typeError("Too many entries (max 1000)"));
  });

  test("deno-kv: Deno KV's limits on keys, values and commits, each failing whole", async () => {
    using kv = open();
    const big = "x".repeat(2050);
    await assert.rejects(kv.set([big], 1), typeError("Key too large for write (max 2048 bytes)"));
    await assert.rejects(kv.get([big + "x"]), typeError("Key too large for read (max 2049 bytes)"));
    await assert.rejects(kv.set(["v"], new Uint8Array(65537)), typeError("Value too large (max 65536 bytes)"));
    await assert.rejects(kv.set([], 1), typeError("Key cannot be empty"));
    const checks = kv.atomic();
    for (let i = 0; i < 101; i++) checks.check({ key: ["c", i], versionstamp: null });
    await assert.rejects(checks.set(["w"], 1).commit(), typeError("Too many checks (max 100)"));
    const mutations = kv.atomic();
    for (let i = 0; i < 1001; i++) mutations.set(["m", i], i);
    await assert.rejects(mutations.commit(), typeError("Too many mutations (max 1000)"));
    const heavy = kv.atomic();
    for (let i = 0; i < 13; i++) heavy.set(["h", i], new Uint8Array(65000));
    await assert.rejects(heavy.commit(), typeError("Total mutation size too large (max 819200 bytes)"));
    const keyed = kv.atomic();
    for (let i = 0; i < 41; i++) keyed.set(["k".repeat(2000), i], 1);
    await assert.rejects(keyed.commit(), typeError("Total key size too large (max 81920 bytes)"));
    await assert.rejects(kv.get([{} as never]), { name: "TypeError" });
    const left = [];
    for await (const e of kv.list({ prefix: [] })) left.push(e.key);
    assert.deepEqual(left, [], "nothing was written");
  });

  test("deno-kv: commitVersionstamp() as a key's last part becomes the commit's versionstamp", async () => {
    using kv = open();
    const { versionstamp } = await kv.atomic().set(["log", kv.commitVersionstamp()], "first").commit() as {
      versionstamp: string;
    };
    const entries = [];
    for await (const e of kv.list({ prefix: ["log"] })) entries.push(e);
    assert.deepEqual(entries.map((e) => [e.key, e.value, e.versionstamp]), [[
      ["log", versionstamp],
      "first",
      versionstamp,
    ]]);
  });

  test("deno-kv: not a promise, not constructible; closed stores reject", async () => {
    const kv = open();
    assert.throws(() => (kv.atomic() as unknown as { then(): void }).then(), {
      name: "TypeError",
      message: "'Deno.AtomicOperation' is not a promise: did you forget to call 'commit()'",
    });
    assert.ok(kv.atomic() instanceof AtomicOperation);
    assert.throws(() => new Kv(), typeError("Deno.Kv can not be constructed: use Deno.openKv instead"));
    kv.close();
    // On Deno, Deno KV's own class (Deno.errors.BadResource); elsewhere KvClosedError; the code is the same.
    const Deno = (globalThis as { Deno?: { errors: { BadResource: new () => Error } } }).Deno;
    const closed = Deno === undefined ? KvClosedError : Deno.errors.BadResource;
    await assert.rejects(kv.get(["a"]), closed);
    await assert.rejects(kv.set(["a"], 1), { code: "KV_CLOSED" });
    await assert.rejects(kv.listenQueue(() => {}), { message: "Queue already closed" });
  });

  test("deno-kv: watch yields the current entries, then each change; it ends when the store closes", async () => {
    const clock = manualClock();
    const kv = open(tempFile(), { now: clock.now });
    await kv.set(["a"], 1);
    await kv.set(["b"], 2, { expireIn: 1000 });
    const reader = kv.watch([["a"], ["b"], ["c"]]).getReader();
    const values = async () => ((await held(reader.read())).value as KvEntryMaybe[]).map((e) => e.value);
    assert.deepEqual(await values(), [1, 2, null]);
    await kv.set(["c"], 3);
    assert.deepEqual(await values(), [1, 2, 3]);
    await kv.delete(["a"]);
    assert.deepEqual(await values(), [null, 2, 3]);
    clock.advance(1000);
    assert.deepEqual(await values(), [null, null, 3], "expiry is a change");
    assert.throws(() => kv.watch(Array.from({ length: 11 }, (_, i) => [i])), typeError("Too many keys (max 10)"));
    kv.close();
    assert.equal((await held(reader.read())).done, true);
  });

  test("deno-kv: enqueue and listenQueue: delay by the store's clock, retries, then keysIfUndelivered; close ends listening", async () => {
    const clock = manualClock();
    const kv = open(tempFile(), { now: clock.now });
    const seen: unknown[] = [];
    let fail = 0;
    const done = kv.listenQueue((value) => {
      seen.push(value);
      if (value === "fails") {
        fail++;
        throw new Error("handler failed");
      }
    });
    await kv.enqueue("now");
    await kv.enqueue("later", { delay: 5000 });
    await kv.enqueue("fails", { backoffSchedule: [0], keysIfUndelivered: [["dead", 1]] });
    await held(until(() => seen.includes("now") && fail === 2, "the message now, and the failing one twice"));
    assert.ok(!seen.includes("later"));
    assert.equal((await kv.get(["dead", 1])).value, "fails", "written once the schedule is spent");
    clock.advance(5000);
    await held(until(() => seen.includes("later"), "the delayed message"));
    assert.throws(() => kv.atomic().enqueue(1, { delay: -1 }), typeError("Delay must be >= 0: received -1"));
    assert.throws(
      () => kv.atomic().enqueue(1, { delay: 31 * 24 * 3600_000 }),
      typeError(`Delay cannot be greater than 30 days: received ${31 * 24 * 3600_000}`),
    );
    assert.throws(
      () => kv.atomic().enqueue(1, { backoffSchedule: [1, 2, 3, 4, 5, 6] }),
      typeError("Invalid backoffSchedule, max 5 intervals allowed"),
    );
    assert.throws(
      () => kv.atomic().enqueue(1, { backoffSchedule: [1, -2] }),
      typeError("Invalid backoffSchedule, interval at index 1 is invalid"),
    );
    kv.close();
    await held(done);
  });

  test("deno-kv: close ends listenQueue at once, even under a handler that never settles; its message comes back after the lease", async () => {
    const clock = manualClock();
    const path = tempFile();
    const kv = open(path, { now: clock.now });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const listening = kv.listenQueue(() => {
      started();
      return new Promise(() => {});
    });
    await kv.enqueue("stuck");
    await held(running);
    kv.close();
    await held(listening);
    clock.advance(5000); // the lease (Deno KV's 5 s), no longer renewed
    const again = open(path, { now: clock.now });
    const seen: unknown[] = [];
    const relisten = again.listenQueue((value) => void seen.push(value));
    await held(until(() => seen.length === 1, "the message whose lease lapsed"));
    assert.deepEqual(seen, ["stuck"]);
    again.close();
    await held(relisten);
  });

  test("deno-kv: its table is an ordinary kvsqlite table: the core store sees and counts it", async () => {
    const path = tempFile();
    {
      using kv = open(path);
      await kv.set(["user", 1], "ada");
      await kv.set(["user", 2], "bob");
    }
    using core = t.openKv(path, { table: "denokv" });
    assert.equal(core.count(), 2);
    assert.deepEqual(core.values(), ["ada", "bob"]);
  });
}

/** A stable JSON form of a key part (to drop duplicate keys). */
function tag(v: unknown): unknown {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : Number.isNaN(v) ? "NaN" : `${v}d`;
  if (v instanceof Uint8Array) return `b${[...v]}`;
  if (typeof v === "string") return `s${v}`;
  return v;
}

/** The `./deno-kv` entry with the runtime's built-in driver, and other processes on its file. */
export function denoKvEntryTests(test: TestFn): void {
  const entry = pathToFileURL(fileURLToPath(new URL("../../src/denokv/mod.ts", import.meta.url))).href;
  const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

  test("deno-kv: openKv refuses Deno KV's bad paths and URLs, and creates a file's folders", async () => {
    await assert.rejects(openKv(""), typeError("Filename cannot be empty"));
    await assert.rejects(openKv(":nope"), typeError("Filename cannot start with ':' unless prefixed with './'"));
    await assert.rejects(openKv("https://api.deno.com/databases/x/connect"), { name: "TypeError" });
    const path = join(tempDir(), "a", "b", "app.db");
    {
      await using kv = await openKv(path);
      await kv.set(["k"], 1);
    }
    assert.ok(existsSync(path));
    await using again = await openKv(path);
    assert.equal((await again.get(["k"])).value, 1);
    await using memory = await openKv();
    assert.equal((await memory.get(["k"])).value, null, "no path: in memory");
  });

  test("deno-kv: another process's writes and enqueues reach this one's watch and listenQueue; versionstamps keep rising", async () => {
    const dir = tempDir();
    const path = join(dir, "shared.db");
    await using kv = await openKv(path);
    const before = await kv.set(["count"], new KvU64(0n));
    const reader = kv.watch([["from-child"]]).getReader();
    assert.equal((await held(reader.read())).value![0]!.value, null);
    const got: unknown[] = [];
    const listening = kv.listenQueue((value) => void got.push(value));
    const script = join(dir, "child.mts");
    writeFileSync(
      script,
      `import { openKv } from ${JSON.stringify(entry)};
const kv = await openKv(${JSON.stringify(path)});
for (let i = 0; i < 20; i++) await kv.enqueue({ i });
await kv.atomic().sum(["count"], 5n).set(["from-child"], "hello").commit();
kv.close();
`,
    );
    // Deno without --unstable-kv, with read and write of the data folder only.
    const runs: [string, string[]][] = [
      [bin("node"), [script]],
      [bin("bun"), [script]],
      [bin("deno"), ["run", `--allow-read=${dir}`, `--allow-write=${dir}`, script]],
    ];
    const [command, args] = runs[["node", "bun", "deno"].indexOf(currentRuntime().name)]!;
    const child = await runCommand(command, args, dir);
    assert.equal(child.code, 0, child.stderr);
    assert.equal((await held(reader.read())).value![0]!.value, "hello", "seen through data_version");
    await reader.cancel();
    await held(until(() => got.length === 20, "20 messages", 60_000));
    assert.deepEqual(
      got.map((m) => (m as { i: number }).i).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i),
    );
    const count = await kv.get(["count"]);
    assert.deepEqual(count.value, new KvU64(5n));
    assert.ok(count.versionstamp! > before.versionstamp);
    assert.ok((await kv.set(["after"], 1)).versionstamp > count.versionstamp!);
    kv.close();
    await held(listening);
  });
}
