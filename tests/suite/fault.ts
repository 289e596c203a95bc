import { assert } from "../assert.ts";
import { mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KvCorruptError, KvError } from "../../src/errors.ts";
import type { Target, TestFn } from "../harness.ts";
import { cannotMount, mountTmpfs } from "./reliability.ts";
import { tempDir, tempFile } from "../util.ts";

const escape = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

/** Damaged and impossible files: a clear error, and nothing changed on disk. */
export function faultTests(test: TestFn, t: Target): void {
  test("a full disk is KV_FULL naming the file; every acknowledged write survives", () => {
    const why = cannotMount();
    if (why !== undefined) return console.log(`${t.name}: full disk test skipped: ${why}`);
    const mnt = mountTmpfs("1m");
    try {
      const path = join(mnt.dir, "full.db");
      const acked: string[] = [];
      let caught: unknown;
      {
        using kv = t.openKv(path);
        try {
          for (let i = 0; i < 10_000; i++) {
            kv.set(`k${i}`, "v".repeat(500));
            kv.flush(); // acknowledged: committed (a no-op in the default mode)
            acked.push(`k${i}`);
          }
        } catch (error) {
          caught = error;
        }
        assert.ok(caught instanceof KvError, String(caught));
        assert.equal(caught.code, "KV_FULL", caught.message);
        assert.match(caught.message, escape(path));
        assert.ok(acked.length > 100, `wrote ${acked.length} keys before the disk filled`);
        assert.equal(kv.get(acked.at(-1)!), "v".repeat(500));
      }
      using again = t.openKv(path, { readOnly: true });
      again.integrityCheck();
      assert.equal(again.count(), acked.length);
    } finally {
      mnt.unmount();
    }
  });

  test("a file truncated mid-page is reported as KvCorruptError and left as it was", () => {
    const path = tempFile();
    {
      using kv = t.openKv(path, { journalMode: "delete" });
      kv.setMany(Array.from({ length: 2000 }, (_, i) => [`key:${i}`, `value ${i} `.repeat(10)] as [string, string]));
    }
    const size = readFileSync(path).length;
    truncateSync(path, Math.floor(size / 2 / 4096) * 4096 + 1000);
    const before = readFileSync(path);
    let caught: unknown;
    try {
      using kv = t.openKv(path, { journalMode: "delete" });
      for (const entry of kv.list()) void entry;
      kv.integrityCheck();
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof KvCorruptError, String(caught));
    assert.ok(readFileSync(path).equals(before), "the damaged file was changed");
  });

  test("a file that is not SQLite is KvCorruptError naming it, and is left as it was", () => {
    const path = tempFile("notes.txt");
    writeFileSync(path, "these are my notes, not a database\n".repeat(200));
    const before = readFileSync(path);
    assert.throws(() => t.openKv(path), (e: unknown) => e instanceof KvCorruptError && escape(path).test(e.message));
    assert.throws(() => t.openKv(path, { readOnly: true }), KvCorruptError);
    assert.ok(readFileSync(path).equals(before), "the file was changed");
  });

  test("a directory as the path is a KvError naming it, and nothing is created in it", () => {
    const dir = join(tempDir(), "a-folder");
    mkdirSync(dir);
    assert.throws(() => t.openKv(dir), (e: unknown) => e instanceof KvError && escape(dir).test(e.message));
    assert.throws(() => t.openKv(dir, { readOnly: true }), KvError);
    assert.deepEqual(readdirSync(dir), []);
  });
}
