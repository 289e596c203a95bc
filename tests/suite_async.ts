import { assert } from "./assert.ts";
import type { Target, TestFn } from "./harness.ts";

/** What only the async client has: transactions with an async fn, the worker thread. */
export function asyncTests(test: TestFn, t: Target): void {
  test("placeholder", async () => {
    await using kv = await t.openKv();
    assert.equal(await kv.set("a", 1), true);
  });
}
