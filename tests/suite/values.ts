import { assert } from "../assert.ts";
import { KvCodecError } from "../../src/errors.ts";
import type { Codec } from "../../src/codec.ts";
import { syncOnly, type Target, type TestFn } from "../harness.ts";
import { depthOf, manualClock, nested, rawAll, rawExec, tempFile } from "../util.ts";

class Point {
  x: number;
  constructor(x: number) {
    this.x = x;
  }
}

/** Keys, values and the codec. */
export function valueTests(test: TestFn, t: Target): void {
  test("get returns what set wrote and undefined or the fallback for a missing key", async () => {
    await using kv = await t.open();
    assert.equal(await kv.set("a", "one"), true);
    assert.equal(await kv.get("a"), "one");
    assert.equal(await kv.get("missing"), undefined);
    assert.equal(await kv.get("missing", 7), 7);
    assert.equal(await kv.get("a", "fallback"), "one");
    const fallback = { list: [1] };
    assert.equal(await kv.get("missing", fallback), fallback, "the fallback itself, not a copy");
    const fn = () => 1;
    assert.equal(await kv.get("missing", fn), fn, "any fallback, even one no codec could store");
    await kv.set("u", undefined);
    assert.equal(await kv.get("u", "fallback"), undefined, "a live key holding undefined is not missing");
  });

  test("bad keys throw TypeError or RangeError and write nothing", async () => {
    await using kv = await t.open();
    for (const bad of [1, null, undefined, {}, Symbol("s"), ["a"]]) {
      await assert.rejects(async () => await kv.set(bad as unknown as string, 1), TypeError);
      await assert.rejects(async () => await kv.get(bad as unknown as string), TypeError);
    }
    await assert.rejects(async () => await kv.set("", 1), RangeError);
    await assert.rejects(async () => await kv.set("é".repeat(1025), 1), /2050 bytes/); // 2050 UTF-8 bytes
    await assert.rejects(async () => await kv.set("a".repeat(2049), 1), RangeError);
    await assert.rejects(async () => await kv.set("x\uD800y", 1), RangeError);
    await assert.rejects(async () => await kv.set("x\0y", 1), /NUL/);
    await assert.rejects(async () => await kv.keys({ prefix: "x\0" }), RangeError);
    assert.equal(await kv.count(), 0);
    assert.equal(await kv.set("a".repeat(2048), 1), true);
    assert.equal(await kv.set("é".repeat(1024), 2), true);
    assert.equal(await kv.get("é".repeat(1024)), 2);
  });

  test("a stored key longer than the write limit can be read, listed, taken, renamed and deleted", async () => {
    const path = tempFile();
    const long = "L".repeat(3000);
    rawExec(
      t.raw,
      path,
      `CREATE TABLE "kv" (k VARCHAR(4096) PRIMARY KEY, v BLOB);
       INSERT INTO kv VALUES ('${long}', 'one'), ('${long}2', 'two'), ('${long}3', 'three');`,
    );
    await using kv = await t.open(path);
    assert.deepEqual(await kv.keys(), [long, `${long}2`, `${long}3`]);
    assert.equal(await kv.get(long), "one");
    assert.equal(await kv.has(long), true);
    assert.equal(await kv.ttl(long), Infinity);
    assert.deepEqual(await kv.getMany([long]), ["one"]);
    assert.equal((await kv.getEntry(long))!.value, "one");
    assert.equal(await kv.rename(`${long}2`, "short"), true);
    assert.equal(await kv.get("short"), "two");
    assert.equal(await kv.take(`${long}3`), "three");
    assert.equal(await kv.delete(long), true);
    await assert.rejects(async () => await kv.set(long, "again"), RangeError);
    await assert.rejects(async () => await kv.rename("short", long), RangeError);
    assert.deepEqual(await kv.keys(), ["short"]);
  }, { skip: t.noFile });

  test("keys list in UTF-8 byte order, not UTF-16 order", async () => {
    await using kv = await t.open();
    const keys = ["b", "a", "B", "é", "\u{1F600}", "\uFFFF", "a\u0001", "ab"];
    for (const k of keys) await kv.set(k, k);
    assert.deepEqual(await kv.keys(), ["B", "a", "a\u0001", "ab", "b", "é", "\uFFFF", "\u{1F600}"]);
  });

  test("every listed value type round-trips exactly", async () => {
    const path = tempFile();
    const values: [string, unknown][] = [
      ["string", "héllo \u{1F600}"],
      ["empty string", ""],
      ["string with NUL", "a\0b\0"],
      ["integer", 42],
      ["negative", -7],
      ["float", 3.25],
      ["negative zero", -0],
      ["NaN", NaN],
      ["Infinity", Infinity],
      ["-Infinity", -Infinity],
      ["max safe", Number.MAX_SAFE_INTEGER],
      ["past 2^53", 2 ** 60],
      ["huge", 1e300],
      ["tiny", 5e-324],
      ["bigint", 12345678901234567890123n],
      ["negative bigint", -5n],
      ["true", true],
      ["false", false],
      ["null", null],
      ["undefined", undefined],
      ["date", new Date(1_700_000_000_123)],
      ["invalid date", new Date(NaN)],
      ["bytes", new Uint8Array([0, 1, 255])],
      ["empty bytes", new Uint8Array(0)],
      ["float64 array", new Float64Array([1.5, -0, NaN])],
      ["int16 array", new Int16Array([-1, 2])],
      ["bigint64 array", new BigInt64Array([1n, -2n])],
      ["uint8 clamped", new Uint8ClampedArray([3, 4])],
      ["array buffer", new Uint8Array([9, 8, 7]).buffer],
      ["map", new Map<unknown, unknown>([[1, "a"], [{ k: 1 }, [2n]]])],
      ["set", new Set([1, "a", undefined])],
      ["regexp", /a[bc]+\//giu],
      ["object", { a: 1, b: [1, { c: null }], d: undefined, "": "empty key" }],
      ["array", [1, "two", null, undefined, [3], { x: -0 }]],
      ["nested", { when: new Date(0), tags: new Set(["x"]), bytes: new Uint8Array([1]), n: NaN, big: 1n }],
      ["tagged-looking array", ["a", "n", "u"]],
      ["null prototype", Object.assign(Object.create(null), { a: 1 })],
    ];
    {
      await using kv = await t.open(path);
      for (const [k, v] of values) await kv.set(k, v);
    }
    await using kv = await t.open(path);
    for (const [k, v] of values) {
      const got = await kv.get(k);
      if (k === "null prototype") assert.deepEqual({ ...got as object }, { a: 1 }, k);
      else assert.deepStrictEqual(got, v, k);
    }
    assert.ok(Object.is(await kv.get("negative zero"), -0));
    assert.equal(await kv.has("undefined"), true);
    assert.ok(await kv.get("bytes") instanceof Uint8Array);
    assert.equal(((await kv.get("bytes")) as Uint8Array).constructor, Uint8Array);
  });

  test("an own __proto__ key stays a plain property", async () => {
    await using kv = await t.open();
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    await kv.set("p", value);
    const got = (await kv.get("p")) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(got), Object.prototype);
    assert.deepEqual(Object.keys(got), ["__proto__", "a"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test("a string with a lone surrogate round-trips unchanged", async () => {
    await using kv = await t.open();
    const odd = ["a\uD800b", "\uDC00", "x\uDBFF", "\uD83D\uDE00\uD800", "nul\0and\uD800"];
    for (const [i, v] of odd.entries()) await kv.set(`s${i}`, v);
    for (const [i, v] of odd.entries()) assert.equal(await kv.get(`s${i}`), v);
    assert.deepEqual(await kv.values(), odd);
    assert.deepEqual(await kv.getMany(odd.map((_, i) => `s${i}`)), odd);
    assert.deepEqual((await Array.fromAsync(kv.list())).map((e) => e.value), odd);
    assert.equal(await kv.take("s0"), odd[0]);
    await kv.set("well", "fine \u{1F600}");
    assert.equal(await kv.get("well"), "fine \u{1F600}");
  });

  test("strings, numbers and bytes are stored as native SQLite values", async () => {
    const path = tempFile();
    {
      await using kv = await t.open(path);
      await kv.set("s", "text");
      await kv.set("i", 7);
      await kv.set("r", 1.5);
      await kv.set("b", new Uint8Array([1, 2]));
      await kv.set("o", { a: 1 });
    }
    const rows = rawAll(t.raw, path, `SELECT k, typeof(v), kind FROM kv ORDER BY k`);
    assert.deepEqual(rows, [["b", "blob", 0], ["i", "integer", 0], ["o", "text", 1], ["r", "real", 0], [
      "s",
      "text",
      0,
    ]]);
    assert.deepEqual(rawAll(t.raw, path, `SELECT v FROM kv WHERE k = 'o'`), [['{"a":1}']]);
  }, { skip: t.noFile });

  test("an unencodable value throws KvCodecError and writes nothing", async () => {
    await using kv = await t.open();
    await kv.set("k", "before");
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    for (const bad of [() => 1, Symbol("x"), new Point(1), cyclic, { nested: [new WeakMap()] }, new Blob(["x"])]) {
      await assert.rejects(async () => await kv.set("k", bad), KvCodecError);
      await assert.rejects(async () => await kv.set("new", bad), KvCodecError);
      await assert.rejects(async () => await kv.setMany([["ok", 1], ["new", bad]]), KvCodecError);
    }
    assert.equal(await kv.get("k"), "before");
    assert.equal(await kv.has("new"), false);
    assert.equal(await kv.has("ok"), false);
  });

  test("errors round-trip as structured cloning keeps them: the class by name, the message and stack; a DOMException", async () => {
    await using kv = await t.open();
    const type = new TypeError("bad input");
    class Custom extends Error {
      extra = 1;
    }
    await kv.set("errors", [
      type,
      new RangeError("far"),
      new Custom("mine"),
      new DOMException("oops", "DataCloneError"),
    ]);
    const [t2, r2, c2, d2] = (await kv.get("errors")) as [Error, Error, Error, DOMException];
    assert.ok(t2 instanceof TypeError);
    assert.deepEqual([t2.message, t2.stack], ["bad input", type.stack]);
    assert.ok(r2 instanceof RangeError);
    assert.equal(r2.message, "far");
    assert.equal(Object.getPrototypeOf(c2), Error.prototype, "another class is stored as an Error");
    assert.deepEqual([c2.message, Object.hasOwn(c2, "extra")], ["mine", false]);
    assert.ok(d2 instanceof DOMException);
    assert.deepEqual([d2.name, d2.message], ["DataCloneError", "oops"]);
  });

  test("a shared (acyclic) reference is stored twice, not refused", async () => {
    await using kv = await t.open();
    const shared = { n: 1 };
    await kv.set("k", [shared, shared]);
    assert.deepEqual(await kv.get("k"), [{ n: 1 }, { n: 1 }]);
  });

  test("a value nested deeper than the codec can read back is refused and the old value kept", async () => {
    await using kv = await t.open();
    await kv.set("deep", "old");
    await assert.rejects(async () => await kv.set("deep", nested(1001)), KvCodecError);
    await assert.rejects(async () => await kv.set("deep", nested(10_000)), /nested more than 1000 levels/);
    let obj: unknown = 1;
    for (let i = 0; i < 1001; i++) obj = { o: obj };
    await assert.rejects(async () => await kv.set("deep", obj), KvCodecError);
    await assert.rejects(async () => await kv.setMany([["x", 1], ["deep", nested(1001)]]), KvCodecError);
    assert.equal(await kv.get("deep"), "old");
    assert.equal(await kv.has("x"), false);
    assert.equal(await kv.set("deep", nested(1000)), true);
    assert.equal(depthOf(await kv.get("deep")), 1000);
    assert.equal(depthOf((await kv.entries())[0]![1]), 1000);
    assert.equal(depthOf((await Array.fromAsync(kv.list()))[0]!.value), 1000);
  });

  test("options.codec replaces the structured codec and leaves native values native", async () => {
    const path = tempFile();
    const calls: string[] = [];
    const codec: Codec = {
      encode(v) {
        calls.push("encode");
        return new TextEncoder().encode(JSON.stringify(v));
      },
      decode(d) {
        calls.push("decode");
        return JSON.parse(new TextDecoder().decode(d as Uint8Array));
      },
    };
    {
      await using kv = await t.open(path, { codec });
      await kv.set("o", { a: [1, 2] });
      await kv.set("s", "plain");
      assert.deepEqual(await kv.get("o"), { a: [1, 2] });
      assert.equal(await kv.get("s"), "plain");
    }
    assert.deepEqual(calls, ["encode", "decode"]);
    assert.deepEqual(rawAll(t.raw, path, `SELECT typeof(v) FROM kv WHERE k = 'o'`), [["blob"]]);
  }, syncOnly(t, "a codec cannot cross to the worker thread"));

  test("a codec that throws is reported as KvCodecError with the cause", async () => {
    const boom = new Error("boom");
    await using kv = await t.open(":memory:", {
      codec: {
        encode() {
          throw boom;
        },
        decode: (d) => d,
      },
    });
    const error = (await assert.rejects(async () => await kv.set("a", {}), KvCodecError)) as unknown;
    void error;
    try {
      await kv.set("a", {});
    } catch (e) {
      assert.equal((e as Error).cause, boom);
    }
    assert.equal(await kv.has("a"), false);
  }, syncOnly(t, "a codec cannot cross to the worker thread"));

  test("values written with a ttl still round-trip", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("m", new Map([["a", 1]]), { ttl: 10 });
    assert.deepEqual(await kv.get("m"), new Map([["a", 1]]));
  });
}
