import { assert } from "../assert.ts";
import { KvError } from "../../src/errors.ts";
import type { Target, TestFn } from "../harness.ts";
import { cannotMount, mountTmpfs, rawAll, tempFile } from "../util.ts";
import { join } from "node:path";

const task = () => new Promise<void>((resolve) => setImmediate(resolve));
const rawGet = (t: Target, path: string, key: string) =>
  rawAll(t.raw, path, "SELECT v FROM kv WHERE k = ?", key)[0]?.[0];

/** `durability: "batched"`: one transaction per event-loop task. */
export function batchedTests(test: TestFn, t: Target): void {
  test("batched: writes are visible to the store at once and to other connections after the task", async () => {
    const path = tempFile();
    using kv = t.openKv(path, { durability: "batched" });
    kv.set("a", "one");
    kv.incr("n");
    kv.setMany({ b: "two", c: "three" });
    assert.equal(kv.get("a"), "one");
    assert.equal(kv.count(), 4);
    assert.equal(rawGet(t, path, "a"), undefined, "not committed yet");
    await task();
    assert.equal(rawGet(t, path, "a"), "one");
    assert.equal(rawGet(t, path, "c"), "three");
    assert.equal(kv.stats().commits, 1, "one commit for the whole task");
  });

  test("batched: flush commits now and is a no-op when nothing is pending, in both modes", () => {
    const path = tempFile();
    using kv = t.openKv(path, { durability: "batched", commitInterval: 60_000 });
    kv.flush();
    assert.equal(kv.stats().commits, 0);
    kv.set("a", 1);
    kv.flush();
    assert.equal(rawGet(t, path, "a"), 1);
    assert.equal(kv.stats().commits, 1);
    kv.flush();
    assert.equal(kv.stats().commits, 1);
    using plain = t.openKv();
    plain.set("x", 1);
    plain.flush();
    assert.equal(plain.get("x"), 1);
  });

  test("batched: commitInterval holds the batch past the task until the interval or flush", async () => {
    const path = tempFile();
    using kv = t.openKv(path, { durability: "batched", commitInterval: 60_000 });
    kv.set("a", 1);
    await task();
    await task();
    assert.equal(rawGet(t, path, "a"), undefined);
    kv.flush();
    assert.equal(rawGet(t, path, "a"), 1);
  });

  test("batched: a transaction is a savepoint inside the batch, rolled back alone or committed with it", async () => {
    const path = tempFile();
    using kv = t.openKv(path, { durability: "batched" });
    kv.set("before", 1);
    assert.throws(() =>
      kv.transaction((tx) => {
        tx.set("inside", 1);
        throw new Error("no");
      }), /no/);
    kv.transaction((tx) => {
      tx.set("kept", tx.get<number>("before")! + 1);
      tx.transaction((inner) => inner.set("nested", 3));
    });
    assert.deepEqual(kv.keys(), ["before", "kept", "nested"]);
    await task();
    assert.deepEqual(rawAll(t.raw, path, "SELECT k FROM kv ORDER BY k").map((r) => r[0]), ["before", "kept", "nested"]);
    assert.equal(kv.stats().transactions, 2, "the nested one counts too");
  });

  test("batched: close commits the batch", () => {
    const path = tempFile();
    const kv = t.openKv(path, { durability: "batched" });
    kv.set("a", 1);
    kv.close();
    assert.equal(rawGet(t, path, "a"), 1);
  });

  test("batched: a batch SQLite gives up (disk full) is never silent: the write, onCommitError and the next flush say so", () => {
    const path = tempFile();
    const told: KvError[] = [];
    const { kv, pragma, closeUser } = t.fromDatabase(path, {
      durability: "batched",
      onCommitError: (e) => void told.push(e),
    });
    try {
      kv.set("committed", "kept");
      kv.flush();
      pragma(`max_page_count = ${Number(pragma("page_count")) + 2}`);
      kv.set("in batch", "lost");
      let caught: unknown;
      try {
        for (let i = 0; i < 500; i++) kv.set(`k${i}`, "x".repeat(3000));
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof KvError && caught.code === "KV_FULL", String(caught));
      assert.equal(told.length, 1);
      assert.equal(told[0]!.code, "KV_FULL");
      assert.throws(() => kv.flush(), (e: unknown) => e instanceof KvError && /rolled back/.test(e.message));
      kv.flush();
      assert.equal(kv.get("committed"), "kept", "earlier commits intact");
      assert.equal(kv.has("in batch"), false, "the rolled-back batch is gone, and it was said");
    } finally {
      kv.close();
      closeUser();
    }
  });

  test("batched: two stores of one process write one file in the same task without waiting on each other", () => {
    const path = tempFile();
    using a = t.openKv(path, { durability: "batched", busyTimeout: 100 });
    using b = t.openKv(path, { durability: "batched", busyTimeout: 100, table: "other" });
    using c = t.openKv(path, { busyTimeout: 100 });
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      a.set(`a${i}`, i);
      b.set(`b${i}`, i);
      c.set(`c${i}`, i);
      a.namespace("ns").set(`n${i}`, i);
    }
    assert.ok(Date.now() - started < 1000, "no write waited for a busy timeout");
    a.flush();
    b.flush();
    assert.equal(c.count(), 40, "a and c share the table kv");
    assert.equal(rawAll(t.raw, path, "SELECT count(*) FROM kv")[0]![0], 40);
    assert.equal(rawAll(t.raw, path, "SELECT count(*) FROM other")[0]![0], 20);
    assert.equal(rawAll(t.raw, path, `SELECT count(*) FROM "kv/ns"`)[0]![0], 20);
  });

  test(
    "batched: a disk that fills at commit is told to onCommitError and thrown by the next write; earlier commits stay",
    async () => {
      const mnt = mountTmpfs("1m");
      try {
        const path = join(mnt.dir, "batched.db");
        const told: KvError[] = [];
        let committed = 0;
        let caught: unknown;
        {
          using kv = t.openKv(path, { durability: "batched", onCommitError: (e) => void told.push(e) });
          for (let task = 0; task < 1000 && caught === undefined; task++) {
            try {
              kv.set(`first:${task}`, task); // throws the previous task's failed commit, if any
            } catch (error) {
              caught = error;
              break;
            }
            if (task > 0) committed = task; // the batch of the previous task committed
            for (let i = 0; i < 10; i++) kv.set(`k${task}:${i}`, "v".repeat(1000));
            await new Promise((r) => setImmediate(r));
          }
          assert.ok(caught instanceof KvError && caught.code === "KV_FULL", String(caught));
          assert.ok(told.length >= 1 && told.every((e) => e.code === "KV_FULL"), "onCommitError was told");
          assert.ok(committed > 5, `${committed} batches committed before the disk filled`);
          kv.flush(); // the failure was thrown once and is cleared
        }
        using again = t.openKv(path, { readOnly: true });
        again.integrityCheck();
        for (let task = 0; task < committed; task++) {
          assert.equal(again.count({ prefix: `k${task}:` }), 10, `batch ${task} committed before the disk filled`);
        }
      } finally {
        mnt.unmount();
      }
    },
    { skip: cannotMount() },
  );

  test("batched: commitInterval and onCommitError need durability batched", () => {
    assert.throws(() => t.openKv(":memory:", { commitInterval: 10 }), TypeError);
    assert.throws(() => t.openKv(":memory:", { onCommitError: () => {} }), TypeError);
    assert.throws(() => t.openKv(":memory:", { durability: "later" as never }), RangeError);
    assert.throws(() => t.openKv(":memory:", { durability: "batched", commitInterval: 0 }), RangeError);
  });
}
