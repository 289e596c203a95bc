import { assert } from "../assert.ts";
import { KvCodecError } from "../../src/errors.ts";
import type { Target, TestFn } from "../harness.ts";
import { manualClock } from "../util.ts";

/** Conditional writes, setMany, incr, delete, take and rename. */
export function writeTests(test: TestFn, t: Target): void {
  test("ifAbsent writes only when the key is missing or expired", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    assert.equal(await kv.set("a", 1, { ifAbsent: true, ttl: 10 }), true);
    assert.equal(await kv.set("a", 2, { ifAbsent: true }), false);
    assert.equal(await kv.get("a"), 1);
    clock.advance(10);
    assert.equal(await kv.set("a", 3, { ifAbsent: true }), true);
    assert.equal(await kv.get("a"), 3);
    assert.equal(await kv.ttl("a"), Infinity);
  });

  test("ifPresent writes only when the key is live", async () => {
    await using kv = await t.open();
    assert.equal(await kv.set("a", 1, { ifPresent: true }), false);
    assert.equal(await kv.has("a"), false);
    await kv.set("a", 1);
    assert.equal(await kv.set("a", 2, { ifPresent: true }), true);
    assert.equal(await kv.get("a"), 2);
    await assert.rejects(async () => await kv.set("a", 3, { ifPresent: true, ifAbsent: true }), TypeError);
    await assert.rejects(async () => await kv.set("a", 3, { ifPresent: "yes" as unknown as boolean }), TypeError);
    assert.equal(await kv.get("a"), 2);
  });

  test("ifVersion writes only over the version that was read, and every write changes the version", async () => {
    await using kv = await t.open();
    await kv.set("a", 1);
    const v1 = (await kv.getEntry("a"))!.version;
    await kv.set("a", 1);
    const v2 = (await kv.getEntry("a"))!.version;
    assert.notEqual(v1, v2);
    assert.equal(await kv.set("a", "stale", { ifVersion: v1 }), false);
    assert.equal(await kv.set("a", "fresh", { ifVersion: v2 }), true);
    assert.equal(await kv.get("a"), "fresh");
    assert.equal(await kv.set("a", "again", { ifVersion: v2 }), false);
    await kv.delete("a");
    await kv.set("a", 5);
    assert.notEqual((await kv.getEntry("a"))!.version, v2, "a key written again after delete gets a new version");
    assert.equal(await kv.set("b", 1, { ifVersion: null }), true);
    assert.equal(await kv.set("b", 2, { ifVersion: null }), false);
    await assert.rejects(async () => await kv.set("b", 3, { ifVersion: "1" as unknown as number }), TypeError);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      await kv.set("c", i);
      seen.add((await kv.getEntry("c"))!.version);
    }
    assert.equal(seen.size, 2000);
  });

  test("setMany writes pairs, objects and maps in one transaction", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    assert.equal(await kv.setMany([["a", 1], ["b", 2]]), 2);
    assert.equal(await kv.setMany({ c: 3, d: { x: 1 } }, { ttl: 10 }), 2);
    assert.equal(await kv.setMany(new Map([["e", 5]])), 1);
    assert.equal(await kv.setMany([["a", 9], ["z", 26]], { ifAbsent: true }), 1);
    assert.deepEqual(await kv.entries(), [["a", 1], ["b", 2], ["c", 3], ["d", { x: 1 }], ["e", 5], ["z", 26]]);
    assert.equal(await kv.ttl("c"), 10);
    await assert.rejects(async () => await kv.setMany([["f", 1], ["", 2]]), RangeError);
    await assert.rejects(async () => await kv.setMany([["f", 1], ["g"]] as unknown as [string, unknown][]), TypeError);
    await assert.rejects(async () => await kv.setMany(42 as unknown as Record<string, unknown>), TypeError);
    assert.equal(await kv.has("f"), false);
  });

  test("setMany writes large batches with the same rules as set: conditions, expiry, duplicates", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("k0005", "live");
    await kv.set("k0007", "expired", { ttl: 1 });
    await kv.set("k1200", "kept ttl", { ttl: 500 });
    clock.advance(1);
    const entries: [string, unknown][] = Array.from({ length: 1234 }, (_, i) => [`k${String(i).padStart(4, "0")}`, i]);
    assert.equal(await kv.setMany(entries, { ifAbsent: true }), 1232, "every key but the two live ones");
    assert.equal(await kv.get("k1200"), "kept ttl");
    assert.equal(await kv.get("k0005"), "live");
    assert.equal(await kv.get("k0007"), 7);
    assert.equal(await kv.get("k1233"), 1233);
    assert.equal(await kv.count(), 1234);
    const before = new Map(
      await Promise.all((await kv.keys()).map(async (k) => [k, (await kv.getEntry(k))!.version] as const)),
    );
    assert.equal(await kv.setMany(entries.map(([k, v]) => [k, (v as number) * 2] as const), { keepTtl: true }), 1234);
    assert.equal(await kv.get("k1200"), 2400);
    assert.equal(await kv.ttl("k1200"), 499);
    assert.equal(await kv.ttl("k0003"), Infinity);
    for (const [k, version] of before) {
      assert.notEqual((await kv.getEntry(k))!.version, version, `${k} got a new version`);
    }
    const dup: [string, unknown][] = [...Array.from({ length: 150 }, (_, i) => ["d", i] as [string, unknown])];
    assert.equal(await kv.setMany(dup), 150);
    assert.equal(await kv.get("d"), 149, "the last duplicate wins");
    assert.equal(await kv.setMany(entries.slice(0, 120), { ttl: 10 }), 120);
    assert.equal(await kv.ttl("k0119"), 10);
    assert.equal(await kv.ttl("k0120"), Infinity);
  });

  test("setMany writes nothing when a later entry is bad, whatever came before it", async () => {
    await using kv = await t.open();
    await kv.set("a", "old");
    const bad: unknown[] = [["a", "new"], ["b", 1], ["", 2]];
    await assert.rejects(async () => await kv.setMany(bad as [string, unknown][]), RangeError);
    await assert.rejects(async () => await kv.setMany([["a", "new"], ["c", () => 1]]), KvCodecError);
    await assert.rejects(async () => await kv.setMany([["a", "new"], ["d"]] as never), TypeError);
    function* entries(): Generator<[string, unknown]> {
      yield ["a", "new"];
      throw new Error("the source failed");
    }
    await assert.rejects(async () => await kv.setMany(entries()), /the source failed/);
    assert.deepEqual(await kv.entries(), [["a", "old"]]);
  });

  test("incr stays exact at the edge of the safe integers and changes the version", async () => {
    await using kv = await t.open();
    await kv.set("n", Number.MAX_SAFE_INTEGER - 1);
    const v1 = (await kv.getEntry("n"))!.version;
    assert.equal(await kv.incr("n"), Number.MAX_SAFE_INTEGER);
    assert.notEqual((await kv.getEntry("n"))!.version, v1);
    await assert.rejects(async () => await kv.incr("n"), /passes Number.MAX_SAFE_INTEGER/);
    assert.equal(await kv.get("n"), Number.MAX_SAFE_INTEGER);
    await kv.set("big", 2n ** 53n);
    assert.equal(await kv.incr("big", 1n), 2n ** 53n + 1n);
    await kv.set("f", 1.5);
    assert.equal(await kv.incr("f", 2), 3.5);
    await kv.set("neg", -5);
    assert.equal(await kv.incr("neg", -5), -10);
    assert.equal(await kv.get("neg"), -10);
  });

  test("incr counts from 0, adds, keeps the ttl and refuses non-numbers", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    assert.equal(await kv.incr("n"), 1);
    assert.equal(await kv.incr("n", 5), 6);
    assert.equal(await kv.incr("n", -10), -4);
    assert.equal(await kv.incr("f", 0.5), 0.5);
    assert.equal(await kv.incr("big", 10n), 10n);
    assert.equal(await kv.incr("big", 2), 12n);
    assert.equal(await kv.incr("w", 1, { ttl: 100 }), 1);
    clock.advance(60);
    assert.equal(await kv.incr("w", 1, { ttl: 1000 }), 2);
    assert.equal(await kv.ttl("w"), 40, "incr keeps the key's ttl");
    clock.advance(40);
    assert.equal(await kv.incr("w"), 1, "an expired counter starts again from 0");
    await kv.set("s", "text");
    await assert.rejects(async () => await kv.incr("s"), TypeError);
    assert.equal(await kv.get("s"), "text");
    await assert.rejects(async () => await kv.incr("n", NaN), RangeError);
    await assert.rejects(async () => await kv.incr("n", "1" as unknown as number), TypeError);
    await assert.rejects(async () => await kv.incr("big", 0.5), RangeError);
    assert.equal(await kv.get("n"), -4);
    assert.equal(await kv.get("big"), 12n);
  });

  test("incr refuses to count a number past 2^53 instead of stalling", async () => {
    await using kv = await t.open();
    await kv.set("n", 2 ** 53 - 2);
    assert.equal(await kv.incr("n"), 2 ** 53 - 1);
    for (let i = 0; i < 3; i++) await assert.rejects(async () => await kv.incr("n"), RangeError);
    await assert.rejects(async () => await kv.incr("n", 1n), RangeError);
    assert.equal(await kv.get("n"), 2 ** 53 - 1);
    assert.equal(await kv.incr("n", -1), 2 ** 53 - 2);
    await kv.set("m", -(2 ** 53) + 1);
    await assert.rejects(async () => await kv.incr("m", -1), RangeError);
  });

  test("delete reports whether a live key was deleted", async () => {
    await using kv = await t.open();
    await kv.set("a", 1);
    assert.equal(await kv.delete("a"), true);
    assert.equal(await kv.delete("a"), false);
    assert.equal(await kv.has("a"), false);
    await assert.rejects(async () => await kv.delete(5 as unknown as string), TypeError);
  });

  test("take returns the value and deletes the key", async () => {
    await using kv = await t.open();
    await kv.set("a", { n: 1 });
    assert.deepEqual(await kv.take("a"), { n: 1 });
    assert.equal(await kv.has("a"), false);
    assert.equal(await kv.take("a"), undefined);
  });

  test("rename moves value and expiry, and refuses a live target unless overwrite", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("a", { v: 1 }, { ttl: 100 });
    assert.equal(await kv.rename("a", "b"), true);
    assert.equal(await kv.has("a"), false);
    assert.deepEqual(await kv.get("b"), { v: 1 });
    assert.equal(await kv.ttl("b"), 100);
    assert.equal(await kv.rename("missing", "c"), false);
    await kv.set("c", "taken");
    assert.equal(await kv.rename("b", "c"), false);
    assert.deepEqual(await kv.get("b"), { v: 1 });
    assert.equal(await kv.get("c"), "taken");
    assert.equal(await kv.rename("b", "c", { overwrite: true }), true);
    assert.deepEqual(await kv.get("c"), { v: 1 });
    assert.equal(await kv.has("b"), false);
    await kv.set("old", 1, { ttl: 1 });
    clock.advance(1);
    await kv.set("x", "x");
    assert.equal(await kv.rename("x", "old"), true, "an expired target counts as missing");
    assert.equal(await kv.get("old"), "x");
    assert.equal(await kv.rename("old", "old"), true);
    await assert.rejects(async () => await kv.rename("old", ""), RangeError);
    await assert.rejects(async () => await kv.rename("old", "y", { overwrite: 1 as unknown as boolean }), TypeError);
    assert.equal(await kv.get("old"), "x");
  });
}
