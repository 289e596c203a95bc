import { assert } from "../assert.ts";
import type { Target, TestFn } from "../harness.ts";
import { KvChangesGapError, KvError } from "../../src/errors.ts";
import type { KvEntry } from "../../src/api.ts";
import type { KvMissing } from "../../src/watch/watch.ts";
import { held, manualClock, rawAll, tempFile } from "../util.ts";

type Slot = KvEntry | KvMissing;
const values = (state: Slot[] | undefined) => state?.map((e) => e.value);

/** `kv.watch()` and `kv.changes()`, on every target: the synchronous store and the async client alike. */
export function watchTests(test: TestFn, t: Target): void {
  test("watch yields the current state first, then each change: a set, a delete, an expiry by the store's clock", async () => {
    const clock = manualClock();
    await using kv = await t.open(tempFile(), { now: clock.now });
    await kv.set("a", 1);
    await kv.set("b", "gone soon", { ttl: 1000 });
    const watch = kv.watch(["a", "b", "c"]);
    const first = (await held(watch.next())).value;
    assert.deepEqual(values(first), [1, "gone soon", undefined]);
    assert.deepEqual(first?.[2], { key: "c", value: undefined, version: null });
    await kv.set("c", { n: 3 });
    assert.deepEqual(values((await held(watch.next())).value), [1, "gone soon", { n: 3 }]);
    await kv.delete("a");
    assert.deepEqual(values((await held(watch.next())).value), [undefined, "gone soon", { n: 3 }]);
    clock.advance(2000);
    assert.deepEqual(values((await held(watch.next())).value), [undefined, undefined, { n: 3 }], "expiry is a change");
    await kv.expire("c", 60_000);
    assert.equal(
      ((await held(watch.next())).value?.[2] as KvEntry).expiresAt,
      clock.now() + 60_000,
      "so is an expiry set",
    );
    await watch.return();
    assert.equal((await held(watch.next())).done, true);
  });

  test("watch coalesces quick changes and never misses the last state", async () => {
    await using kv = await t.open();
    const watch = kv.watch(["n"]);
    await held(watch.next());
    for (let i = 1; i <= 50; i++) await kv.set("n", i);
    let last: unknown;
    for (let seen = 0; last !== 50; seen++) {
      assert.ok(seen < 50, "at most one state per write");
      last = (await held(watch.next())).value?.[0]?.value;
    }
    await watch.return();
  });

  test("watching a query sees new, changed, deleted and expired keys, and only those it matches", async () => {
    const clock = manualClock();
    await using kv = await t.open(tempFile(), { now: clock.now });
    await kv.set("job:1", "queued");
    await kv.set("other", 0);
    const watch = kv.watch({ prefix: "job:" });
    const first = (await held(watch.next())).value!;
    assert.deepEqual(first.changed.map((e) => [e.key, e.value]), [["job:1", "queued"]]);
    assert.deepEqual(first.deleted, []);
    await kv.set("job:2", "new", { ttl: 500 });
    await kv.set("job:1", "running");
    await kv.set("other", 1);
    const second = (await held(watch.next())).value!;
    assert.deepEqual(second.changed.map((e) => [e.key, e.value]), [["job:1", "running"], ["job:2", "new"]]);
    await kv.delete("job:1");
    assert.deepEqual((await held(watch.next())).value, { changed: [], deleted: ["job:1"] });
    clock.advance(1000);
    assert.deepEqual((await held(watch.next())).value, { changed: [], deleted: ["job:2"] });
    const tagged = kv.watch({ tag: "t" });
    assert.deepEqual((await held(tagged.next())).value, { changed: [], deleted: [] });
    await kv.set("x", 1, { tags: ["t"] });
    assert.deepEqual((await held(tagged.next())).value?.changed.map((e) => e.key), ["x"]);
    await tagged.return();
    await watch.return();
  });

  test("a watch ends when the store closes; stream() gives the same states; return() ends one watch", async () => {
    const kv = await t.open();
    await kv.set("a", 1);
    const stream = kv.watch(["a"]).stream();
    const reader = stream.getReader();
    assert.equal(((await held(reader.read())).value as Slot[])[0]?.value, 1);
    await kv.set("a", 2);
    assert.equal(((await held(reader.read())).value as Slot[])[0]?.value, 2);
    const other = kv.watch(["a"]);
    await held(other.next());
    const pending = other.next();
    await kv.close();
    assert.equal((await held(pending)).done, true, "closing the store ended the waiting watch");
    assert.equal((await held(reader.read())).done, true);
  });

  test("bad watch arguments are a TypeError or RangeError at once", async () => {
    await using kv = await t.open();
    assert.throws(() => kv.watch([]), RangeError);
    assert.throws(() => kv.watch([5 as unknown as string]), TypeError);
    assert.throws(() => kv.watch(["a\0b"]), RangeError);
    assert.throws(() => kv.watch({ prefix: undefined } as never), TypeError);
    assert.throws(() => kv.watch(["a"], { raw: true } as never), TypeError);
  });

  test(
    "a thousand watchers of one file cost one look for other processes' commits per poll, not one each",
    async () => {
      await using kv = await t.open(tempFile(), { pollInterval: 5 });
      const watches = Array.from({ length: 1000 }, (_, i) => kv.watch([`k${i % 10}`]));
      await Promise.all(watches.map((w) => w.next()));
      // Counted from a reset taken once every watcher waits, so the time spent setting them up is not in it.
      const start = performance.now();
      await kv.stats({ reset: true });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const polls = (await kv.stats()).polls;
      const elapsed = performance.now() - start;
      assert.ok(polls >= 1, `the detector polled (${polls})`);
      assert.ok(polls <= elapsed / 5 + 10, `${polls} polls in ${elapsed.toFixed(0)} ms for 1000 watchers`);
      await Promise.all(watches.map((w) => w.return()));
    },
    { skip: t.noPolling },
  );

  test("changes: every write logged in order with its op and version, none of a rolled-back transaction", async () => {
    const clock = manualClock();
    const path = tempFile();
    {
      await using kv = await t.open(path, { changeFeed: true, now: clock.now });
      await kv.set("a", 1, { ttl: 100 });
      await kv.set("b", 2);
      await kv.rename("b", "c");
      const entry = await kv.getEntry("c");
      await kv.delete("c");
      await kv.setMany({ d: 4, e: 5 });
      await kv.incr("n");
      if (t.async) {
        await kv.transaction(async (tx) => {
          await tx.set("x", 1);
        });
        await assert.rejects(async () =>
          await kv.transaction(async (tx) => {
            await tx.set("y", 1);
            throw new Error("roll back");
          })
        );
      } else {
        assert.throws(() =>
          kv.transaction((tx) => {
            tx.set("y", 1);
            throw new Error("roll back");
          })
        );
        await kv.set("x", 1);
      }
      clock.advance(1000);
      assert.equal(await kv.purgeExpired(), 1);
      const changes = await kv.changes();
      assert.deepEqual(
        changes.map((c) => [c.key, c.op]),
        [
          ["a", "set"],
          ["b", "set"],
          ["b", "delete"],
          ["c", "set"],
          ["c", "delete"],
          ["d", "set"],
          ["e", "set"],
          [
            "n",
            "set",
          ],
          ["x", "set"],
          ["a", "expire"],
        ],
      );
      assert.equal(changes[4]!.version, entry!.version, "a delete carries the version deleted");
      for (let i = 1; i < changes.length; i++) assert.ok(changes[i]!.seq > changes[i - 1]!.seq);
      assert.deepEqual(await kv.changes({ since: changes[7]!.seq, limit: 1 }), [changes[8]]);
      await kv.namespace("ns").set("k", 1);
      assert.deepEqual((await kv.namespace("ns").changes()).map((c) => c.key), ["k"], "each key space its own");
    }
    // Resumed across a reopen, without the option: the file keeps its feed.
    await using again = await t.open(path, { now: clock.now });
    const all = await again.changes();
    await again.set("z", 26);
    const next = await again.changes({ since: all.at(-1)!.seq });
    assert.deepEqual(next.map((c) => [c.key, c.op]), [["z", "set"]]);
  }, { skip: t.noChanges });

  test("changes: a cursor older than the retention throws KvChangesGapError, never skips", async () => {
    const clock = manualClock();
    const path = tempFile();
    await using kv = await t.open(path, { changeFeed: true, changeFeedRetention: { rows: 10 }, now: clock.now });
    await kv.setMany(Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, i])));
    await kv.flush();
    const oldest = Number(rawAll(t.raw, path, "SELECT min(seq) FROM kvsqlite_changes")[0]![0]);
    assert.ok(oldest > 1, `the log was pruned (it starts at ${oldest})`);
    await assert.rejects(async () => await kv.changes({ since: 1 }), KvChangesGapError);
    await assert.rejects(
      async () => await kv.changes({ since: 1 }),
      (e: unknown) => (e as KvError).code === "KV_CHANGES_GAP",
    );
    assert.equal((await kv.changes({ since: oldest - 1, limit: 1 }))[0]?.seq, oldest);
    // By age: what was written more than ms ago (by the writers' clock) goes.
    const aged = tempFile();
    await using old = await t.open(aged, { changeFeed: true, changeFeedRetention: { ms: 1000 }, now: clock.now });
    for (let i = 0; i < 300; i++) await old.set(`a${i}`, i);
    clock.advance(5000);
    for (let i = 0; i < 300; i++) await old.set(`b${i}`, i);
    await assert.rejects(async () => await old.changes({ since: 1 }), KvChangesGapError);
    const kept = await old.changes({ limit: 10_000 });
    assert.ok(kept.every((c) => c.key.startsWith("b") || c.seq > 256), "the old entries are gone");
  }, { skip: t.noChanges });

  test(
    "changes refuses bad arguments, and a file without the feed has neither its tables nor its triggers",
    async () => {
      const path = tempFile();
      await using kv = await t.open(path);
      await kv.set("a", 1);
      await assert.rejects(
        async () => await kv.changes(),
        (e: unknown) => e instanceof KvError && /no change feed/.test(e.message),
      );
      assert.deepEqual(rawAll(t.raw, path, "SELECT name FROM sqlite_master WHERE name LIKE 'kvsqlite_changes%'"), []);
      assert.throws(() => t.openKv(":memory:", { changeFeedRetention: { rows: 5 } }), TypeError);
      assert.throws(() => t.openKv(":memory:", { changeFeed: true, changeFeedRetention: { rows: 0 } }), RangeError);
      assert.throws(
        () => t.openKv(":memory:", { changeFeed: true, changeFeedRetention: { days: 1 } } as never),
        TypeError,
      );
      await using fed = await t.open(tempFile(), { changeFeed: true });
      await assert.rejects(async () => await fed.changes({ since: -1 }), RangeError);
      await assert.rejects(async () => await fed.changes({ since: "1" } as never), TypeError);
      await assert.rejects(async () => await fed.changes({ limit: 1.5 }), RangeError);
      await assert.rejects(async () => await fed.changes({ from: 1 } as never), TypeError);
    },
    { skip: t.noChanges },
  );
}
