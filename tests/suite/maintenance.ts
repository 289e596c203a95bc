import { assert } from "../assert.ts";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KvError } from "../../src/errors.ts";
import { fromDriver } from "../../src/open.ts";
import type { Target, TestFn } from "../harness.ts";
import { manualClock, tempDir, tempFile } from "../util.ts";

/** touch, backup and the other things a new user reaches for in the first hour. */
export function firstHourTests(test: TestFn, t: Target): void {
  test("touch extends a live key's expiry and returns its value in one call; missing or expired: undefined", async () => {
    const clock = manualClock();
    await using kv = await t.openKv(":memory:", { now: clock.now });
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

  test("backup creates parent folders and refuses an existing target unless overwrite", async () => {
    const path = tempFile();
    await using kv = await t.openKv(path);
    await kv.set("a", 1);
    const target = join(tempDir(), "deep", "er", "copy.db");
    await kv.backup(target);
    {
      await using copy = await t.openKv(target, { readOnly: true });
      assert.equal(await copy.get("a"), 1);
    }
    await kv.set("a", 2);
    const before = readFileSync(target);
    await assert.rejects(
      async () => await kv.backup(target),
      (e: unknown) => e instanceof KvError && /exists/.test(e.message),
    );
    assert.ok(readFileSync(target).equals(before), "a refused backup leaves the target alone");
    await kv.backup(target, { overwrite: true });
    await using copy = await t.openKv(target, { readOnly: true });
    assert.equal(await copy.get("a"), 2);
    await assert.rejects(async () => await kv.backup(target, { overwite: true } as never), TypeError);
  });

  test("backup works where SQLite may not attach a database, as on Deno without -A", async () => {
    const path = tempFile();
    await (await t.openKv(path)).close();
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
      await kv.setMany({ a: 1, b: 2 });
      const target = join(tempDir(), "copy.db");
      await kv.backup(target);
      await kv.set("c", 3);
      await using copy = await t.openKv(target, { readOnly: true });
      assert.deepEqual(await copy.entries(), [["a", 1], ["b", 2]]);
      await copy.integrityCheck();
    } finally {
      await kv.close();
    }
  });

  test("an existing file that is not ours is never a backup's casualty", async () => {
    await using kv = await t.openKv();
    const target = join(tempDir(), "notes.txt");
    writeFileSync(target, "mine");
    await assert.rejects(async () => await kv.backup(target), KvError);
    assert.equal(readFileSync(target, "utf8"), "mine");
    assert.equal(existsSync(target), true);
  });
}
