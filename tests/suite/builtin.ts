import { assert } from "../assert.ts";
import type { Kv } from "../../src/kv.ts";
import { openKvAsync } from "../../mod.ts";
import type { KvOptions } from "../../src/options.ts";
import type { TestFn } from "../harness.ts";
import { tempFile } from "../util.ts";

/** mod.ts's openKv picks the runtime's built-in driver by itself. */
export function builtinTests(test: TestFn, openKv: (path?: string, o?: KvOptions) => Kv, expected: string): void {
  test(`mod.ts openKv uses ${expected} and opens a file synchronously`, () => {
    const path = tempFile();
    const kv = openKv(path);
    assert.ok(!(kv as unknown instanceof Promise));
    kv.set("session:42", { user: "ada" }, { ttl: 60_000 });
    assert.deepEqual(kv.get("session:42"), { user: "ada" });
    assert.deepEqual(kv.keys({ prefix: "session:" }), ["session:42"]);
    assert.equal(kv.stats().driver, expected);
    kv.close();
    using again = openKv(path);
    assert.equal(again.count(), 1);
  });

  test(`mod.ts openKvAsync runs ${expected} in a worker thread, on the same file`, async () => {
    const path = tempFile();
    {
      await using kv = await openKvAsync(path);
      assert.ok(kv.get("a") instanceof Promise);
      await kv.set("a", { n: 1 }, { ttl: 60_000 });
      assert.equal((await kv.stats()).driver, expected);
    }
    using sync = openKv(path);
    assert.deepEqual(sync.get("a"), { n: 1 });
  });
}
