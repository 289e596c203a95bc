import { assert } from "./assert.ts";
import { KvCodecError } from "../src/errors.ts";
import type { Target, TestFn } from "./harness.ts";
import { manualClock, rawAll, tempFile } from "./util.ts";

/** TTL, conditional writes and the single-key operations. */
export function opsTests(test: TestFn, t: Target): void {
  test("an expired key is invisible to every read at once, before any purge", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    kv.set("e", "soon", { ttl: 1000 });
    kv.set("p", "forever");
    clock.advance(999);
    assert.equal(kv.get("e"), "soon");
    clock.advance(1);
    assert.equal(kv.get("e"), undefined);
    assert.equal(kv.get("e", "fb"), "fb");
    assert.equal(kv.getEntry("e"), undefined);
    assert.equal(kv.has("e"), false);
    assert.deepEqual(kv.getMany(["e", "p"]), [undefined, "forever"]);
    assert.deepEqual(kv.keys(), ["p"]);
    assert.deepEqual(kv.values(), ["forever"]);
    assert.deepEqual(kv.entries(), [["p", "forever"]]);
    assert.deepEqual([...kv.list()].map((e) => e.key), ["p"]);
    assert.equal(kv.count(), 1);
    assert.equal(kv.ttl("e"), undefined);
    assert.equal(kv.take("e"), undefined);
    kv.set("e2", 1, { ttl: 5 });
    clock.advance(5);
    assert.equal(kv.rename("e2", "r"), false);
    assert.equal(kv.delete("e2"), false);
    assert.equal(kv.expire("e2", 1000), false);
    assert.equal(kv.persist("e2"), false);
    assert.equal(kv.set("e2", "new", { ifPresent: true }), false);
    assert.equal(kv.set("e2", "new", { ifAbsent: true }), true);
    assert.equal(kv.get("e2"), "new");
  });

  test("ttl reports ms left, Infinity without expiry, undefined when missing or expired", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    kv.set("a", 1, { ttl: 1500 });
    kv.set("b", 2);
    clock.advance(500);
    assert.equal(kv.ttl("a"), 1000);
    assert.equal(kv.ttl("b"), Infinity);
    assert.equal(kv.ttl("c"), undefined);
    clock.advance(1000);
    assert.equal(kv.ttl("a"), undefined);
  });

  test("an expiresAt in the past writes the key already expired", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    assert.equal(kv.set("past", 1, { expiresAt: clock.now() - 1 }), true);
    assert.equal(kv.set("now", 1, { expiresAt: clock.now() }), true);
    assert.equal(kv.set("pastDate", 1, { expiresAt: new Date(clock.now() - 1) }), true);
    assert.equal(kv.set("future", 1, { expiresAt: new Date(clock.now() + 10) }), true);
    assert.deepEqual(kv.keys(), ["future"]);
    assert.equal(kv.getEntry("future")!.expiresAt, clock.now() + 10);
  });

  test("a ttl that is not a finite number is refused and nothing is written", () => {
    using kv = t.openKv();
    kv.set("k", "before");
    assert.throws(() => kv.set("k", "after", { ttl: NaN }), /ttl must be a finite number > 0, received NaN/);
    assert.throws(() => kv.set("k", "after", { ttl: Infinity }), RangeError);
    assert.throws(() => kv.set("k", "after", { ttl: "10" as unknown as number }), TypeError);
    assert.throws(() => kv.set("k", "after", { expiresAt: "x" as unknown as number }), TypeError);
    assert.throws(() => kv.set("k", "after", { expiresAt: new Date(NaN) }), RangeError);
    assert.throws(() => kv.set("k", "after", { ttl: 1, expiresAt: 5 }), TypeError);
    assert.throws(() => kv.setMany([["k", "after"]], { ttl: NaN }), RangeError);
    assert.throws(() => kv.expire("k", NaN), RangeError);
    assert.equal(kv.get("k"), "before");
    assert.equal(kv.ttl("k"), Infinity);
  });

  test("expire, expireAt and persist change expiry without rewriting the value", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    kv.set("a", { v: 1 });
    const version = kv.getEntry("a")!.version;
    assert.equal(kv.expire("a", 100), true);
    assert.equal(kv.ttl("a"), 100);
    assert.equal(kv.expireAt("a", new Date(clock.now() + 50)), true);
    assert.equal(kv.ttl("a"), 50);
    assert.equal(kv.persist("a"), true);
    assert.equal(kv.ttl("a"), Infinity);
    assert.deepEqual(kv.get("a"), { v: 1 });
    assert.equal(kv.getEntry("a")!.version, version);
    assert.equal(kv.expire("missing", 10), false);
    assert.equal(kv.expireAt("missing", 10), false);
    assert.equal(kv.persist("missing"), false);
    assert.equal(kv.expireAt("a", clock.now()), true);
    assert.equal(kv.has("a"), false);
  });

  test("purgeExpired deletes only expired rows and returns how many", () => {
    const clock = manualClock();
    const path = tempFile();
    using kv = t.openKv(path, { now: clock.now });
    kv.setMany([["a", 1], ["b", 2]], { ttl: 10 });
    kv.set("c", 3, { ttl: 100 });
    kv.set("d", 4);
    clock.advance(10);
    assert.equal(kv.purgeExpired(), 2);
    assert.equal(kv.purgeExpired(), 0);
    kv.flush(); // another connection looks at the file next
    assert.deepEqual(rawAll(t.raw, path, `SELECT k FROM kv ORDER BY k`), [["c"], ["d"]]);
    assert.equal(kv.stats().purged, 2);
  });

  test("purgeExpired's statement searches the expiry index instead of scanning the table", () => {
    const path = tempFile();
    t.openKv(path).close();
    const plan = rawAll(t.raw, path, `EXPLAIN QUERY PLAN DELETE FROM "kv" WHERE expire_time <= ?`, 1).map((r) =>
      String(r[3])
    )
      .join("\n");
    assert.match(plan, /SEARCH kv USING (COVERING )?INDEX kv\.expire_time/);
    assert.doesNotMatch(plan, /SCAN/);
  });

  test("sweepInterval purges on a timer", async () => {
    const clock = manualClock();
    const path = tempFile();
    using kv = t.openKv(path, { now: clock.now, sweepInterval: 10 });
    kv.namespace("n").set("x", 1, { ttl: 1 });
    kv.set("a", 1, { ttl: 1 });
    kv.flush(); // written for the raw connection below to see (a no-op in the default mode)
    clock.advance(5);
    const deadline = Date.now() + 5000;
    while (rawAll(t.raw, path, `SELECT count(*) FROM kv`)[0]![0] !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(rawAll(t.raw, path, `SELECT count(*) FROM kv`)[0]![0], 0);
    assert.equal(rawAll(t.raw, path, `SELECT count(*) FROM "kv/n"`)[0]![0], 0);
  });

  test("ifAbsent writes only when the key is missing or expired", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    assert.equal(kv.set("a", 1, { ifAbsent: true, ttl: 10 }), true);
    assert.equal(kv.set("a", 2, { ifAbsent: true }), false);
    assert.equal(kv.get("a"), 1);
    clock.advance(10);
    assert.equal(kv.set("a", 3, { ifAbsent: true }), true);
    assert.equal(kv.get("a"), 3);
    assert.equal(kv.ttl("a"), Infinity);
  });

  test("ifPresent writes only when the key is live", () => {
    using kv = t.openKv();
    assert.equal(kv.set("a", 1, { ifPresent: true }), false);
    assert.equal(kv.has("a"), false);
    kv.set("a", 1);
    assert.equal(kv.set("a", 2, { ifPresent: true }), true);
    assert.equal(kv.get("a"), 2);
    assert.throws(() => kv.set("a", 3, { ifPresent: true, ifAbsent: true }), TypeError);
    assert.throws(() => kv.set("a", 3, { ifPresent: "yes" as unknown as boolean }), TypeError);
    assert.equal(kv.get("a"), 2);
  });

  test("keepTtl keeps a live key's expiry and gives a new key none", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    kv.set("a", 1, { ttl: 100 });
    clock.advance(40);
    assert.equal(kv.set("a", 2, { keepTtl: true }), true);
    assert.equal(kv.get("a"), 2);
    assert.equal(kv.ttl("a"), 60);
    assert.equal(kv.set("a", 3), true);
    assert.equal(kv.ttl("a"), Infinity, "a plain set clears the expiry");
    kv.set("b", 1, { ttl: 10 });
    clock.advance(10);
    kv.set("b", 2, { keepTtl: true });
    assert.equal(kv.ttl("b"), Infinity, "an expired key's ttl is not kept");
    kv.set("c", 1, { ttl: 50 });
    assert.equal(kv.set("c", 2, { keepTtl: true, ifPresent: true }), true);
    assert.equal(kv.ttl("c"), 50);
    assert.throws(() => kv.set("a", 4, { keepTtl: true, ttl: 5 }), TypeError);
    assert.equal(kv.get("a"), 3);
  });

  test("ifVersion writes only over the version that was read, and every write changes the version", () => {
    using kv = t.openKv();
    kv.set("a", 1);
    const v1 = kv.getEntry("a")!.version;
    kv.set("a", 1);
    const v2 = kv.getEntry("a")!.version;
    assert.notEqual(v1, v2);
    assert.equal(kv.set("a", "stale", { ifVersion: v1 }), false);
    assert.equal(kv.set("a", "fresh", { ifVersion: v2 }), true);
    assert.equal(kv.get("a"), "fresh");
    assert.equal(kv.set("a", "again", { ifVersion: v2 }), false);
    kv.delete("a");
    kv.set("a", 5);
    assert.notEqual(kv.getEntry("a")!.version, v2, "a key written again after delete gets a new version");
    assert.equal(kv.set("b", 1, { ifVersion: null }), true);
    assert.equal(kv.set("b", 2, { ifVersion: null }), false);
    assert.throws(() => kv.set("b", 3, { ifVersion: "1" as unknown as number }), TypeError);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      kv.set("c", i);
      seen.add(kv.getEntry("c")!.version);
    }
    assert.equal(seen.size, 2000);
  });

  test("setMany writes pairs, objects and maps in one transaction", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    assert.equal(kv.setMany([["a", 1], ["b", 2]]), 2);
    assert.equal(kv.setMany({ c: 3, d: { x: 1 } }, { ttl: 10 }), 2);
    assert.equal(kv.setMany(new Map([["e", 5]])), 1);
    assert.equal(kv.setMany([["a", 9], ["z", 26]], { ifAbsent: true }), 1);
    assert.deepEqual(kv.entries(), [["a", 1], ["b", 2], ["c", 3], ["d", { x: 1 }], ["e", 5], ["z", 26]]);
    assert.equal(kv.ttl("c"), 10);
    assert.throws(() => kv.setMany([["f", 1], ["", 2]]), RangeError);
    assert.throws(() => kv.setMany([["f", 1], ["g"]] as unknown as [string, unknown][]), TypeError);
    assert.throws(() => kv.setMany(42 as unknown as Record<string, unknown>), TypeError);
    assert.equal(kv.has("f"), false);
  });

  test("setMany writes large batches with the same rules as set: conditions, expiry, duplicates", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    kv.set("k0005", "live");
    kv.set("k0007", "expired", { ttl: 1 });
    kv.set("k1200", "kept ttl", { ttl: 500 });
    clock.advance(1);
    const entries: [string, unknown][] = Array.from({ length: 1234 }, (_, i) => [`k${String(i).padStart(4, "0")}`, i]);
    assert.equal(kv.setMany(entries, { ifAbsent: true }), 1232, "every key but the two live ones");
    assert.equal(kv.get("k1200"), "kept ttl");
    assert.equal(kv.get("k0005"), "live");
    assert.equal(kv.get("k0007"), 7);
    assert.equal(kv.get("k1233"), 1233);
    assert.equal(kv.count(), 1234);
    const before = new Map(kv.keys().map((k) => [k, kv.getEntry(k)!.version]));
    assert.equal(kv.setMany(entries.map(([k, v]) => [k, (v as number) * 2]), { keepTtl: true }), 1234);
    assert.equal(kv.get("k1200"), 2400);
    assert.equal(kv.ttl("k1200"), 499);
    assert.equal(kv.ttl("k0003"), Infinity);
    for (const [k, version] of before) assert.notEqual(kv.getEntry(k)!.version, version, `${k} got a new version`);
    const dup: [string, unknown][] = [...Array.from({ length: 150 }, (_, i) => ["d", i] as [string, unknown])];
    assert.equal(kv.setMany(dup), 150);
    assert.equal(kv.get("d"), 149, "the last duplicate wins");
    assert.equal(kv.setMany(entries.slice(0, 120), { ttl: 10 }), 120);
    assert.equal(kv.ttl("k0119"), 10);
    assert.equal(kv.ttl("k0120"), Infinity);
  });

  test("incr stays exact at the edge of the safe integers and changes the version", () => {
    using kv = t.openKv();
    kv.set("n", Number.MAX_SAFE_INTEGER - 1);
    const v1 = kv.getEntry("n")!.version;
    assert.equal(kv.incr("n"), Number.MAX_SAFE_INTEGER);
    assert.notEqual(kv.getEntry("n")!.version, v1);
    assert.throws(() => kv.incr("n"), /passes Number.MAX_SAFE_INTEGER/);
    assert.equal(kv.get("n"), Number.MAX_SAFE_INTEGER);
    kv.set("big", 2n ** 53n);
    assert.equal(kv.incr("big", 1n), 2n ** 53n + 1n);
    kv.set("f", 1.5);
    assert.equal(kv.incr("f", 2), 3.5);
    kv.set("neg", -5);
    assert.equal(kv.incr("neg", -5), -10);
    assert.equal(kv.get("neg"), -10);
  });

  test("setMany writes nothing when a later entry is bad, whatever came before it", () => {
    using kv = t.openKv();
    kv.set("a", "old");
    const bad: unknown[] = [["a", "new"], ["b", 1], ["", 2]];
    assert.throws(() => kv.setMany(bad as [string, unknown][]), RangeError);
    assert.throws(() => kv.setMany([["a", "new"], ["c", () => 1]]), KvCodecError);
    assert.throws(() => kv.setMany([["a", "new"], ["d"]] as never), TypeError);
    function* entries(): Generator<[string, unknown]> {
      yield ["a", "new"];
      throw new Error("the source failed");
    }
    assert.throws(() => kv.setMany(entries()), /the source failed/);
    assert.deepEqual(kv.entries(), [["a", "old"]]);
  });

  test("delete reports whether a live key was deleted", () => {
    using kv = t.openKv();
    kv.set("a", 1);
    assert.equal(kv.delete("a"), true);
    assert.equal(kv.delete("a"), false);
    assert.equal(kv.has("a"), false);
    assert.throws(() => kv.delete(5 as unknown as string), TypeError);
  });

  test("take returns the value and deletes the key", () => {
    using kv = t.openKv();
    kv.set("a", { n: 1 });
    assert.deepEqual(kv.take("a"), { n: 1 });
    assert.equal(kv.has("a"), false);
    assert.equal(kv.take("a"), undefined);
  });

  test("incr counts from 0, adds, keeps the ttl and refuses non-numbers", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    assert.equal(kv.incr("n"), 1);
    assert.equal(kv.incr("n", 5), 6);
    assert.equal(kv.incr("n", -10), -4);
    assert.equal(kv.incr("f", 0.5), 0.5);
    assert.equal(kv.incr("big", 10n), 10n);
    assert.equal(kv.incr("big", 2), 12n);
    assert.equal(kv.incr("w", 1, { ttl: 100 }), 1);
    clock.advance(60);
    assert.equal(kv.incr("w", 1, { ttl: 1000 }), 2);
    assert.equal(kv.ttl("w"), 40, "incr keeps the key's ttl");
    clock.advance(40);
    assert.equal(kv.incr("w"), 1, "an expired counter starts again from 0");
    kv.set("s", "text");
    assert.throws(() => kv.incr("s"), TypeError);
    assert.equal(kv.get("s"), "text");
    assert.throws(() => kv.incr("n", NaN), RangeError);
    assert.throws(() => kv.incr("n", "1" as unknown as number), TypeError);
    assert.throws(() => kv.incr("big", 0.5), RangeError);
    assert.equal(kv.get("n"), -4);
    assert.equal(kv.get("big"), 12n);
  });

  test("rename moves value and expiry, and refuses a live target unless overwrite", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    kv.set("a", { v: 1 }, { ttl: 100 });
    assert.equal(kv.rename("a", "b"), true);
    assert.equal(kv.has("a"), false);
    assert.deepEqual(kv.get("b"), { v: 1 });
    assert.equal(kv.ttl("b"), 100);
    assert.equal(kv.rename("missing", "c"), false);
    kv.set("c", "taken");
    assert.equal(kv.rename("b", "c"), false);
    assert.deepEqual(kv.get("b"), { v: 1 });
    assert.equal(kv.get("c"), "taken");
    assert.equal(kv.rename("b", "c", { overwrite: true }), true);
    assert.deepEqual(kv.get("c"), { v: 1 });
    assert.equal(kv.has("b"), false);
    kv.set("old", 1, { ttl: 1 });
    clock.advance(1);
    kv.set("x", "x");
    assert.equal(kv.rename("x", "old"), true, "an expired target counts as missing");
    assert.equal(kv.get("old"), "x");
    assert.equal(kv.rename("old", "old"), true);
    assert.throws(() => kv.rename("old", ""), RangeError);
    assert.throws(() => kv.rename("old", "y", { overwrite: 1 as unknown as boolean }), TypeError);
    assert.equal(kv.get("old"), "x");
  });
}
