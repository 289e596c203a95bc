import { assert } from "../assert.ts";
import { compileQuery } from "../../src/query.ts";
import type { AnyKv, Target, TestFn } from "../harness.ts";
import type { Kv } from "../../src/kv.ts";
import { rawAll, tempFile } from "../util.ts";

/** KeyQuery and ListOptions. */
export function queryTests(test: TestFn, t: Target): void {
  const fill = async (kv: AnyKv, keys: string[]) => {
    for (const k of keys) await kv.set(k, k.toUpperCase());
  };

  test("prefix matches literally: %, _ and \\ are not wildcards", async () => {
    await using kv = await t.open();
    await fill(kv, ["a%b", "a%bc", "axb", "a_1", "ab1", "a\\x", "aY", "b"]);
    assert.deepEqual(await kv.keys({ prefix: "a%" }), ["a%b", "a%bc"]);
    assert.deepEqual(await kv.keys({ prefix: "a_" }), ["a_1"]);
    assert.deepEqual(await kv.keys({ prefix: "a\\" }), ["a\\x"]);
    assert.deepEqual(await kv.keys({ prefix: "ay" }), [], "prefix is case-sensitive");
    assert.deepEqual((await kv.keys({ prefix: "" })).length, 8);
    assert.equal(await kv.count({ prefix: "a" }), 7);
  });

  test("prefix handles the largest code points", async () => {
    await using kv = await t.open();
    await fill(kv, ["x\u{10FFFF}", "x\u{10FFFF}a", "y", "x\uD7FFz", "x\uE000"]);
    assert.deepEqual(await kv.keys({ prefix: "x\u{10FFFF}" }), ["x\u{10FFFF}", "x\u{10FFFF}a"]);
    assert.deepEqual(await kv.keys({ prefix: "x\uD7FF" }), ["x\uD7FFz"]);
  });

  test("a prefix query is a range search on the primary key, never a full scan", async () => {
    const path = tempFile();
    {
      await using kv = await t.open(path);
      for (let i = 0; i < 100; i++) await kv.set(`k${i}`, i);
    }
    for (const q of [{ prefix: "user:" }, { start: "a", end: "b" }, { glob: "user:*:x" }]) {
      const cond = compileQuery(q, "test");
      const plan = rawAll(
        t.raw,
        path,
        `EXPLAIN QUERY PLAN SELECT k, v FROM "kv" WHERE ${
          cond.where("")
        } AND (expire_time IS NULL OR expire_time > ?) ORDER BY k`,
        ...cond.params,
        0,
      ).map((r) => String(r[3])).join("\n");
      assert.match(plan, /SEARCH kv USING PRIMARY KEY \(k>\? AND k<\?\)/, JSON.stringify(q));
      assert.doesNotMatch(plan, /SCAN/, JSON.stringify(q));
      assert.doesNotMatch(plan, /TEMP B-TREE/, JSON.stringify(q));
    }
  }, { skip: t.noFile });

  test("start is inclusive and end exclusive", async () => {
    await using kv = await t.open();
    await fill(kv, ["a", "b", "c", "d"]);
    assert.deepEqual(await kv.keys({ start: "b", end: "d" }), ["b", "c"]);
    assert.deepEqual(await kv.keys({ start: "b" }), ["b", "c", "d"]);
    assert.deepEqual(await kv.keys({ end: "b" }), ["a"]);
    assert.deepEqual(await kv.keys({}), ["a", "b", "c", "d"]);
  });

  test("like is ASCII case-insensitive and honours an escape character", async () => {
    await using kv = await t.open();
    await fill(kv, ["User:1", "user:2", "user_3", "userX3", "other"]);
    assert.deepEqual(await kv.keys({ like: "user:%" }), ["User:1", "user:2"]);
    assert.deepEqual(await kv.keys({ like: "user_3" }), ["userX3", "user_3"]);
    assert.deepEqual(await kv.keys({ like: "user!_3", escape: "!" }), ["user_3"]);
    assert.equal(await kv.count({ like: "%" }), 5);
    await assert.rejects(async () => await kv.keys({ like: "a", escape: "!!" }), RangeError);
  });

  test("glob is case-sensitive with *, ? and [...]", async () => {
    await using kv = await t.open();
    await fill(kv, ["user:1:a", "user:2:b", "User:3:a", "user:10:a"]);
    assert.deepEqual(await kv.keys({ glob: "user:*:a" }), ["user:10:a", "user:1:a"]);
    assert.deepEqual(await kv.keys({ glob: "user:?:*" }), ["user:1:a", "user:2:b"]);
    assert.deepEqual(await kv.keys({ glob: "[Uu]ser:[23]:*" }), ["User:3:a", "user:2:b"]);
    assert.deepEqual(await kv.keys({ glob: "*:a" }), ["User:3:a", "user:10:a", "user:1:a"]);
  });

  test("a malformed query is refused with TypeError or RangeError", async () => {
    await using kv = await t.open();
    await kv.set("a", 1);
    const bad: unknown[] = [
      { prefix: "a", glob: "b" },
      { like: "a", start: "b" },
      { prefix: 1 },
      { glob: null },
      { unknown: "x" },
      { escape: "!" },
      "prefix",
      null,
    ];
    for (const q of bad) {
      await assert.rejects(async () => await kv.keys(q as never), TypeError, JSON.stringify(q));
      await assert.rejects(async () => await kv.deleteMany(q as never), TypeError, JSON.stringify(q));
      await assert.rejects(async () => await kv.count(q as never), TypeError, JSON.stringify(q));
    }
    assert.equal(await kv.count(), 1);
  });

  test("a query field that is present but undefined is a TypeError, never 'match everything'", async () => {
    await using kv = await t.open();
    await kv.setMany({ a: 1, b: 2 });
    for (const field of ["prefix", "like", "glob", "start", "end", "escape", "tag"]) {
      const q = { [field]: undefined } as never;
      await assert.rejects(async () => await kv.deleteMany(q), TypeError, field);
      await assert.rejects(async () => await kv.keys(q), TypeError, field);
      await assert.rejects(async () => await kv.count(q), TypeError, field);
      await assert.rejects(async () => await Array.fromAsync(kv.list(q)), TypeError, field);
    }
    await assert.rejects(async () => await kv.deleteMany({ like: "a%", escape: undefined } as never), TypeError);
    assert.deepEqual(await kv.keys(), ["a", "b"]);
    assert.deepEqual(await kv.keys({}), ["a", "b"], "an empty query still means every key");
  });

  test("query strings with lone surrogates are refused and delete nothing", async () => {
    await using kv = await t.open();
    await kv.set("\uFFFDsecret", 1);
    await assert.rejects(async () => await kv.deleteMany({ like: "\uD800%" }), RangeError);
    await assert.rejects(async () => await kv.deleteMany({ prefix: "\uD800" }), RangeError);
    await assert.rejects(async () => await kv.deleteMany({ glob: "\uDFFF*" }), RangeError);
    await assert.rejects(async () => await kv.deleteMany({ start: "\uD800" }), RangeError);
    await assert.rejects(async () => await kv.keys({ like: "%", escape: "\uD800" }), RangeError);
    await assert.rejects(async () => await kv.keys(undefined, { after: "\uD800" }), RangeError);
    assert.deepEqual(await kv.keys(), ["\uFFFDsecret"]);
  });

  test("values and entries follow the same query and order", async () => {
    await using kv = await t.open();
    await fill(kv, ["b", "a", "c"]);
    assert.deepEqual(await kv.values(), ["A", "B", "C"]);
    assert.deepEqual(await kv.entries({ start: "b" }), [["b", "B"], ["c", "C"]]);
    assert.deepEqual(await kv.values({ prefix: "a" }, { reverse: true }), ["A"]);
  });

  test("limit, reverse and after page through keys exactly once", async () => {
    await using kv = await t.open();
    const all = Array.from({ length: 57 }, (_, i) => `k${String(i).padStart(3, "0")}`);
    await fill(kv, all);
    for (const reverse of [false, true]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await kv.keys(
          { prefix: "k" },
          after === undefined ? { limit: 10, reverse } : { limit: 10, reverse, after },
        );
        seen.push(...page);
        if (page.length < 10) break;
        after = page[page.length - 1];
      }
      assert.deepEqual(seen, reverse ? [...all].reverse() : all);
    }
    assert.deepEqual(await kv.keys(undefined, { limit: 0 }), []);
    assert.deepEqual(await kv.keys(undefined, { limit: 2, reverse: true }), ["k056", "k055"]);
    await assert.rejects(async () => await kv.keys(undefined, { limit: -1 }), RangeError);
    await assert.rejects(async () => await kv.keys(undefined, { limit: 1.5 }), RangeError);
    await assert.rejects(async () => await kv.keys(undefined, { reverse: "yes" as unknown as boolean }), TypeError);
    await assert.rejects(async () => await kv.keys(undefined, { after: 3 as unknown as string }), TypeError);
  });

  test("list is lazy and batched: it sees writes made after it started, past its cursor", async () => {
    await using kv = await t.open();
    const keys = Array.from({ length: 700 }, (_, i) => `k${String(i).padStart(4, "0")}`);
    await kv.setMany(keys.map((k) => [k, k] as const));
    const it = kv.list<string>({ prefix: "k" });
    const first = await it.next();
    assert.equal(first.value!.key, "k0000");
    await kv.set("k9999", "late");
    await kv.delete("k0699");
    const rest = (await Array.fromAsync(it)).map((e) => e.key);
    assert.equal(rest.length, 699);
    assert.equal(rest[rest.length - 1], "k9999");
    assert.ok(!rest.includes("k0699"));
    assert.deepEqual(
      (await Array.fromAsync(kv.list({ prefix: "k" }, { limit: 300, reverse: true }))).map((e) => e.key).slice(0, 2),
      [
        "k9999",
        "k0698",
      ],
    );
    assert.equal((await Array.fromAsync(kv.list(undefined, { limit: 300 }))).length, 300);
    assert.equal((await Array.fromAsync(kv.list(undefined, { after: "k0500" }))).length, 199);
  });

  test("list entries carry expiry and version", async () => {
    await using kv = await t.open(":memory:", { now: () => 1000 });
    await kv.set("a", 1, { ttl: 50 });
    const [entry] = await Array.fromAsync(kv.list());
    assert.equal(entry!.key, "a");
    assert.equal(entry!.value, 1);
    assert.equal(entry!.expiresAt, 1050);
    assert.equal(entry!.version, (await kv.getEntry("a"))!.version);
  });

  test("list holds no read lock between batches", async () => {
    const path = tempFile();
    await using kv = await t.open(path, { journalMode: "delete" });
    await kv.setMany(Array.from({ length: 600 }, (_, i) => [`k${String(i).padStart(4, "0")}`, i] as const));
    const it = kv.list();
    await it.next();
    await using other = await t.open(path, { journalMode: "delete", busyTimeout: 0 });
    assert.equal(await other.set("w", 1), true, "a writer gets in while the iterator is paused");
    await other.flush(); // committed, so that the iterator sees it (a no-op in the default mode)
    assert.equal((await Array.fromAsync(it)).length, 600);
  });

  test("iterating the store yields [key, value] pairs like a Map", async () => {
    await using kv = await t.open();
    await kv.setMany({ b: 2, a: 1 });
    assert.deepEqual(await Array.fromAsync(kv), [["a", 1], ["b", 2]]);
    // The synchronous store is a sync iterable, as a Map is; the async client an async one.
    assert.deepEqual(new Map(t.async ? await Array.fromAsync(kv) : kv as Kv), new Map([["a", 1], ["b", 2]]));
  });

  test("deleteMany deletes by key list or by query and counts live keys", async () => {
    await using kv = await t.open();
    await fill(kv, ["s:1", "s:2", "s:3", "t:1", "u_1", "uX1"]);
    assert.equal(await kv.deleteMany(["s:1", "missing", "s:1"]), 1);
    assert.equal(await kv.deleteMany({ prefix: "s:" }), 2);
    assert.equal(await kv.deleteMany({ like: "u\\_%", escape: "\\" }), 1);
    assert.equal(await kv.deleteMany({ glob: "t:*" }), 1);
    assert.deepEqual(await kv.keys(), ["uX1"]);
    await assert.rejects(async () => await kv.deleteMany(["uX1", 3 as unknown as string]), TypeError);
    assert.deepEqual(await kv.keys(), ["uX1"]);
  });

  test("getMany reads many keys, duplicates and misses included, past SQLite's parameter limit", async () => {
    await using kv = await t.open();
    const keys = Array.from({ length: 40_000 }, (_, i) => `k${i}`);
    await kv.setMany(keys.map((k, i) => [k, i] as const));
    const got = await kv.getMany([...keys, "missing", "k5"]);
    assert.equal(got.length, 40_002);
    assert.equal(got[39_999], 39_999);
    assert.equal(got[40_000], undefined);
    assert.equal(got[40_001], 5);
    assert.deepEqual(await kv.getMany([]), []);
    await assert.rejects(async () => await kv.getMany("k1" as unknown as string[]), TypeError);
  });
}

/** Limits written into statements (up to 256) and bound (above), and listings rewritten in place. */
export function limitTests(test: TestFn, t: Target): void {
  test("limits on both sides of the literal range give exact pages in every listing", async () => {
    await using kv = await t.open();
    await kv.setMany(Array.from({ length: 600 }, (_, i) => [`k${String(i).padStart(3, "0")}`, i] as [string, number]));
    for (const limit of [0, 1, 50, 255, 256, 257, 300, 599, 600, 601]) {
      const n = Math.min(limit, 600);
      assert.equal((await kv.keys(undefined, { limit })).length, n, `keys ${limit}`);
      assert.equal(
        (await kv.values(undefined, { limit, reverse: true }))[0],
        limit === 0 ? undefined : 599,
        `values ${limit}`,
      );
      assert.equal(
        (await kv.entries({ prefix: "k" }, { limit, after: "k000" })).length,
        Math.min(limit, 599),
        `entries ${limit}`,
      );
      assert.equal((await Array.fromAsync(kv.list(undefined, { limit }))).length, n, `list ${limit}`);
    }
    assert.deepEqual(await kv.entries({ prefix: "k00" }, { limit: 2 }), [["k000", 0], ["k001", 1]]);
    assert.deepEqual(await kv.values({ start: "k598" }), [598, 599]);
  });

  test("limit must be a safe whole number >= 0", async () => {
    await using kv = await t.open();
    await kv.set("a", 1);
    for (const limit of [2 ** 63, 2 ** 53, -1, 1.5, NaN, Infinity]) {
      await assert.rejects(async () => await kv.keys(undefined, { limit }), RangeError, String(limit));
      await assert.rejects(async () => await Array.fromAsync(kv.list(undefined, { limit })), RangeError, String(limit));
    }
    assert.deepEqual(await kv.keys(undefined, { limit: 2 ** 53 - 1 }), ["a"]);
    assert.deepEqual(await kv.keys(undefined, { limit: 0 }), []);
  });
}
