import { assert } from "../assert.ts";
import type { Target, TestFn } from "../harness.ts";
import { manualClock, rawAll, tempFile } from "../util.ts";

/** Expiry: ttl and expiresAt, keepTtl, expire and persist, touch, purgeExpired, the sweeper and the clock. */
export function ttlTests(test: TestFn, t: Target): void {
  test("an expired key is invisible to every read at once, before any purge", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("e", "soon", { ttl: 1000 });
    await kv.set("p", "forever");
    clock.advance(999);
    assert.equal(await kv.get("e"), "soon");
    clock.advance(1);
    assert.equal(await kv.get("e"), undefined);
    assert.equal(await kv.get("e", "fb"), "fb");
    assert.equal(await kv.getEntry("e"), undefined);
    assert.equal(await kv.has("e"), false);
    assert.deepEqual(await kv.getMany(["e", "p"]), [undefined, "forever"]);
    assert.deepEqual(await kv.keys(), ["p"]);
    assert.deepEqual(await kv.values(), ["forever"]);
    assert.deepEqual(await kv.entries(), [["p", "forever"]]);
    assert.deepEqual((await Array.fromAsync(kv.list())).map((e) => e.key), ["p"]);
    assert.equal(await kv.count(), 1);
    assert.equal(await kv.ttl("e"), undefined);
    assert.equal(await kv.take("e"), undefined);
    await kv.set("e2", 1, { ttl: 5 });
    clock.advance(5);
    assert.equal(await kv.rename("e2", "r"), false);
    assert.equal(await kv.delete("e2"), false);
    assert.equal(await kv.expire("e2", 1000), false);
    assert.equal(await kv.persist("e2"), false);
    assert.equal(await kv.set("e2", "new", { ifPresent: true }), false);
    assert.equal(await kv.set("e2", "new", { ifAbsent: true }), true);
    assert.equal(await kv.get("e2"), "new");
  });

  test("ttl reports ms left, Infinity without expiry, undefined when missing or expired", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("a", 1, { ttl: 1500 });
    await kv.set("b", 2);
    clock.advance(500);
    assert.equal(await kv.ttl("a"), 1000);
    assert.equal(await kv.ttl("b"), Infinity);
    assert.equal(await kv.ttl("c"), undefined);
    clock.advance(1000);
    assert.equal(await kv.ttl("a"), undefined);
  });

  test("an expiresAt in the past writes the key already expired", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    assert.equal(await kv.set("past", 1, { expiresAt: clock.now() - 1 }), true);
    assert.equal(await kv.set("now", 1, { expiresAt: clock.now() }), true);
    assert.equal(await kv.set("pastDate", 1, { expiresAt: new Date(clock.now() - 1) }), true);
    assert.equal(await kv.set("future", 1, { expiresAt: new Date(clock.now() + 10) }), true);
    assert.deepEqual(await kv.keys(), ["future"]);
    assert.equal((await kv.getEntry("future"))!.expiresAt, clock.now() + 10);
  });

  test("a ttl that is not a finite number is refused and nothing is written", async () => {
    await using kv = await t.open();
    await kv.set("k", "before");
    await assert.rejects(
      async () => await kv.set("k", "after", { ttl: NaN }),
      /ttl must be a finite number > 0, received NaN/,
    );
    await assert.rejects(async () => await kv.set("k", "after", { ttl: Infinity }), RangeError);
    await assert.rejects(async () => await kv.set("k", "after", { ttl: "10" as unknown as number }), TypeError);
    await assert.rejects(async () => await kv.set("k", "after", { expiresAt: "x" as unknown as number }), TypeError);
    await assert.rejects(async () => await kv.set("k", "after", { expiresAt: new Date(NaN) }), RangeError);
    await assert.rejects(async () => await kv.set("k", "after", { ttl: 1, expiresAt: 5 }), TypeError);
    await assert.rejects(async () => await kv.setMany([["k", "after"]], { ttl: NaN }), RangeError);
    await assert.rejects(async () => await kv.expire("k", NaN), RangeError);
    assert.equal(await kv.get("k"), "before");
    assert.equal(await kv.ttl("k"), Infinity);
  });

  test("every ttl must be > 0: 0 and negatives are a RangeError and write nothing", async () => {
    await using kv = await t.open();
    await kv.set("k", "before");
    for (const ttl of [0, -1, -0, 0 - 1e-9]) {
      await assert.rejects(async () => await kv.set("k", "after", { ttl }), RangeError, String(ttl));
      await assert.rejects(async () => await kv.setMany({ k: "after" }, { ttl }), RangeError);
      await assert.rejects(async () => await kv.incr("counter", 1, { ttl }), RangeError);
      await assert.rejects(async () => await kv.expire("k", ttl), RangeError);
    }
    assert.equal(await kv.get("k"), "before");
    assert.equal(await kv.ttl("k"), Infinity);
    assert.equal(await kv.has("counter"), false);
  });

  test("keepTtl keeps a live key's expiry and gives a new key none", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("a", 1, { ttl: 100 });
    clock.advance(40);
    assert.equal(await kv.set("a", 2, { keepTtl: true }), true);
    assert.equal(await kv.get("a"), 2);
    assert.equal(await kv.ttl("a"), 60);
    assert.equal(await kv.set("a", 3), true);
    assert.equal(await kv.ttl("a"), Infinity, "a plain set clears the expiry");
    await kv.set("b", 1, { ttl: 10 });
    clock.advance(10);
    await kv.set("b", 2, { keepTtl: true });
    assert.equal(await kv.ttl("b"), Infinity, "an expired key's ttl is not kept");
    await kv.set("c", 1, { ttl: 50 });
    assert.equal(await kv.set("c", 2, { keepTtl: true, ifPresent: true }), true);
    assert.equal(await kv.ttl("c"), 50);
    await assert.rejects(async () => await kv.set("a", 4, { keepTtl: true, ttl: 5 }), TypeError);
    assert.equal(await kv.get("a"), 3);
  });

  test("expire, expireAt and persist change expiry without rewriting the value", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("a", { v: 1 });
    const version = (await kv.getEntry("a"))!.version;
    assert.equal(await kv.expire("a", 100), true);
    assert.equal(await kv.ttl("a"), 100);
    assert.equal(await kv.expireAt("a", new Date(clock.now() + 50)), true);
    assert.equal(await kv.ttl("a"), 50);
    assert.equal(await kv.persist("a"), true);
    assert.equal(await kv.ttl("a"), Infinity);
    assert.deepEqual(await kv.get("a"), { v: 1 });
    assert.equal((await kv.getEntry("a"))!.version, version);
    assert.equal(await kv.expire("missing", 10), false);
    assert.equal(await kv.expireAt("missing", 10), false);
    assert.equal(await kv.persist("missing"), false);
    assert.equal(await kv.expireAt("a", clock.now()), true);
    assert.equal(await kv.has("a"), false);
  });

  test("touch extends a live key's expiry and returns its value in one call; missing or expired: undefined", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("session", { user: "ada" }, { ttl: 100 });
    clock.advance(90);
    assert.deepEqual(await kv.touch("session", 100), { user: "ada" });
    assert.equal(await kv.ttl("session"), 100);
    clock.advance(99);
    assert.equal(await kv.has("session"), true, "the expiry slid");
    clock.advance(1);
    assert.equal(await kv.touch("session", 100), undefined, "expired");
    assert.equal(await kv.touch("missing", 100), undefined);
    assert.equal(await kv.has("session"), false, "touch does not revive an expired key");
    await kv.set("n", 1);
    await assert.rejects(async () => await kv.touch("n", 0), RangeError);
    await assert.rejects(async () => await kv.touch("n", NaN), RangeError);
    assert.equal(await kv.ttl("n"), Infinity, "a refused touch changes nothing");
    await kv.set("t", "tagged", { tags: ["x"] });
    assert.equal(await kv.touch("t", 50), "tagged");
    assert.deepEqual(await kv.tags("t"), ["x"], "touch keeps tags");
  });

  test("purgeExpired deletes only expired rows and returns how many", async () => {
    const clock = manualClock();
    const path = tempFile();
    await using kv = await t.open(path, { now: clock.now });
    await kv.setMany([["a", 1], ["b", 2]], { ttl: 10 });
    await kv.set("c", 3, { ttl: 100 });
    await kv.set("d", 4);
    clock.advance(10);
    assert.equal(await kv.purgeExpired(), 2);
    assert.equal(await kv.purgeExpired(), 0);
    await kv.flush(); // another connection looks at the file next
    assert.deepEqual(rawAll(t.raw, path, `SELECT k FROM kv ORDER BY k`), [["c"], ["d"]]);
    assert.equal((await kv.stats()).purged, 2);
  }, { skip: t.noFile });

  test("purgeExpired's statement searches the expiry index instead of scanning the table", async () => {
    const path = tempFile();
    await (await t.open(path)).close();
    const plan = rawAll(t.raw, path, `EXPLAIN QUERY PLAN DELETE FROM "kv" WHERE expire_time <= ?`, 1).map((r) =>
      String(r[3])
    )
      .join("\n");
    assert.match(plan, /SEARCH kv USING (COVERING )?INDEX kv\.expire_time/);
    assert.doesNotMatch(plan, /SCAN/);
  }, { skip: t.noFile });

  test("sweepInterval purges on a timer", async () => {
    const clock = manualClock();
    const path = tempFile();
    await using kv = await t.open(path, { now: clock.now, sweepInterval: 10 });
    await kv.namespace("n").set("x", 1, { ttl: 1 });
    await kv.set("a", 1, { ttl: 1 });
    await kv.flush(); // written for the raw connection below to see (a no-op in the default mode)
    clock.advance(5);
    const deadline = Date.now() + 5000;
    while (rawAll(t.raw, path, `SELECT count(*) FROM kv`)[0]![0] !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(rawAll(t.raw, path, `SELECT count(*) FROM kv`)[0]![0], 0);
    assert.equal(rawAll(t.raw, path, `SELECT count(*) FROM "kv/n"`)[0]![0], 0);
  }, { skip: t.noFile });

  test("a clock moved by hand expires keys written with a fractional ttl", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("f", 1, { ttl: 1.5 });
    clock.advance(1);
    assert.equal(await kv.has("f"), true);
    clock.advance(1);
    assert.equal(await kv.has("f"), false);
    await kv.set("tiny", 1, { ttl: 0.5 });
    assert.equal(await kv.has("tiny"), true, "a fraction of a ms is still a ttl: it rounds up");
  });

  test("a clock that returns NaN or a non-number is refused at the first use, writing nothing", async () => {
    for (
      const [reading, error] of [[NaN, RangeError], [Infinity, RangeError], ["1", TypeError], [undefined, TypeError]]
    ) {
      let now: unknown = 1_700_000_000_000;
      await using kv = await t.open(":memory:", { now: () => now as number });
      await kv.set("before", 1, { ttl: 10 });
      now = reading;
      await assert.rejects(async () => await kv.set("k", 1, { ttl: 10 }), error as typeof Error);
      await assert.rejects(async () => await kv.get("before"), error as typeof Error);
      now = 1_700_000_000_000;
      assert.deepEqual(await kv.keys(), ["before"]);
    }
  });
}
