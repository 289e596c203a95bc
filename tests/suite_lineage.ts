import { assert } from "./assert.ts";
import type { Target, TestFn } from "./harness.ts";
import { rawAll, tempFile } from "./util.ts";

/** SNKV's configuration and stats: page size, WAL size limit, incremental vacuum, counters with reset. */
export function lineageTests(test: TestFn, t: Target): void {
  test("pageSize and autoVacuum apply when the file is created and leave an existing file alone", () => {
    const path = tempFile();
    t.openKv(path, { pageSize: 8192, autoVacuum: "incremental" }).close();
    assert.deepEqual(rawAll(t.raw, path, "PRAGMA page_size"), [[8192]]);
    assert.deepEqual(rawAll(t.raw, path, "PRAGMA auto_vacuum"), [[2]]);
    t.openKv(path, { pageSize: 1024 }).close();
    assert.deepEqual(rawAll(t.raw, path, "PRAGMA page_size"), [[8192]], "an existing file keeps its page size");
    for (const pageSize of [0, 1000, 256, 131072, 1.5]) {
      assert.throws(() => t.openKv(":memory:", { pageSize }), RangeError, String(pageSize));
    }
    assert.throws(() => t.openKv(":memory:", { autoVacuum: "full" as never }), RangeError);
  });

  test("journalSizeLimit sets the WAL size limit", () => {
    const { kv, pragma, closeUser } = t.fromDatabase(tempFile(), { journalSizeLimit: 1_048_576 });
    try {
      assert.equal(Number(pragma("journal_size_limit")), 1_048_576);
      assert.throws(() => t.openKv(":memory:", { journalSizeLimit: -2 }), RangeError);
    } finally {
      kv.close();
      closeUser();
    }
  });

  test("vacuum({ pages }) frees at most that many pages, on a file created for it", () => {
    const path = tempFile();
    using kv = t.openKv(path, { autoVacuum: "incremental" });
    kv.setMany(Array.from({ length: 2000 }, (_, i) => [`k${i}`, "x".repeat(500)] as [string, string]));
    kv.clear();
    kv.checkpoint("truncate");
    const free = () => Number(rawAll(t.raw, path, "PRAGMA freelist_count")[0]![0]);
    const before = free();
    assert.ok(before > 20, `${before} free pages`);
    kv.vacuum({ pages: 10 });
    kv.checkpoint("truncate");
    assert.equal(free(), before - 10);
    assert.throws(() => kv.vacuum({ pages: 0 }), RangeError);
    using plain = t.openKv(tempFile());
    assert.throws(() => plain.vacuum({ pages: 5 }), /autoVacuum: "incremental"/);
    plain.vacuum();
  });

  test("stats counts rows iterated, errors and checkpoints, and { reset } returns and zeroes the counters", () => {
    using kv = t.openKv(tempFile());
    kv.setMany({ a: 1, b: 2, c: 3 });
    kv.keys();
    [...kv.list({ prefix: "a" })];
    kv.checkpoint();
    try {
      kv.transaction(() => kv.vacuum());
    } catch { /* a vacuum inside a transaction is refused before SQLite is asked */ }
    const s = kv.stats({ reset: true });
    assert.equal(s.rowsIterated, 4);
    assert.equal(s.checkpoints, 1);
    assert.equal(s.sets, 3);
    assert.equal(typeof s.errors, "number");
    const after = kv.stats();
    assert.equal(after.sets, 0);
    assert.equal(after.rowsIterated, 0);
    assert.equal(after.keys, 3, "gauges are not counters");
    assert.throws(() => kv.stats({ reset: "yes" } as never), TypeError);
    assert.throws(() => kv.stats({ clear: true } as never), TypeError);
  });
}
