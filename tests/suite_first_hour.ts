import { assert } from "./assert.ts";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KvError } from "../src/errors.ts";
import { fromDriver } from "../src/open.ts";
import type { Target, TestFn } from "./harness.ts";
import { manualClock, tempDir, tempFile } from "./util.ts";

/** touch, backup and the other things a new user reaches for in the first hour. */
export function firstHourTests(test: TestFn, t: Target): void {
  test("touch extends a live key's expiry and returns its value in one call; missing or expired: undefined", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    kv.set("session", { user: "ada" }, { ttl: 100 });
    clock.advance(90);
    assert.deepEqual(kv.touch("session", 100), { user: "ada" });
    assert.equal(kv.ttl("session"), 100);
    clock.advance(99);
    assert.equal(kv.has("session"), true, "the expiry slid");
    clock.advance(1);
    assert.equal(kv.touch("session", 100), undefined, "expired");
    assert.equal(kv.touch("missing", 100), undefined);
    assert.equal(kv.has("session"), false, "touch does not revive an expired key");
    kv.set("n", 1);
    assert.throws(() => kv.touch("n", 0), RangeError);
    assert.throws(() => kv.touch("n", NaN), RangeError);
    assert.equal(kv.ttl("n"), Infinity, "a refused touch changes nothing");
    kv.set("t", "tagged", { tags: ["x"] });
    assert.equal(kv.touch("t", 50), "tagged");
    assert.deepEqual(kv.tags("t"), ["x"], "touch keeps tags");
  });

  test("backup creates parent folders and refuses an existing target unless overwrite", () => {
    const path = tempFile();
    using kv = t.openKv(path);
    kv.set("a", 1);
    const target = join(tempDir(), "deep", "er", "copy.db");
    kv.backup(target);
    {
      using copy = t.openKv(target, { readOnly: true });
      assert.equal(copy.get("a"), 1);
    }
    kv.set("a", 2);
    const before = readFileSync(target);
    assert.throws(() => kv.backup(target), (e: unknown) => e instanceof KvError && /exists/.test(e.message));
    assert.ok(readFileSync(target).equals(before), "a refused backup leaves the target alone");
    kv.backup(target, { overwrite: true });
    using copy = t.openKv(target, { readOnly: true });
    assert.equal(copy.get("a"), 2);
    assert.throws(() => kv.backup(target, { overwite: true } as never), TypeError);
  });

  test("backup works where SQLite may not attach a database, as on Deno without -A", () => {
    const path = tempFile();
    t.openKv(path).close();
    const driver = t.raw(path);
    const refusing = {
      ...driver,
      prepare(sql: string) {
        if (/VACUUM INTO/.test(sql)) throw new Error("too many attached databases - max 0");
        return driver.prepare(sql);
      },
    };
    const kv = fromDriver(refusing, { path, closeDatabase: true });
    try {
      kv.setMany({ a: 1, b: 2 });
      const target = join(tempDir(), "copy.db");
      kv.backup(target);
      kv.set("c", 3);
      using copy = t.openKv(target, { readOnly: true });
      assert.deepEqual(copy.entries(), [["a", 1], ["b", 2]]);
      copy.integrityCheck();
    } finally {
      kv.close();
    }
  });

  test("an existing file that is not ours is never a backup's casualty", () => {
    using kv = t.openKv();
    const target = join(tempDir(), "notes.txt");
    writeFileSync(target, "mine");
    assert.throws(() => kv.backup(target), KvError);
    assert.equal(readFileSync(target, "utf8"), "mine");
    assert.equal(existsSync(target), true);
  });
}
