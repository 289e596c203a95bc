import { assert } from "../assert.ts";
import type { Target, TestFn } from "../harness.ts";

/** What fits no single area: each case found by probing the store as a careless or hostile caller would. */
export function reliabilityTests(test: TestFn, t: Target): void {
  test("unknown options to any method are a TypeError and write nothing", async () => {
    await using kv = await t.open();
    for (const bad of [{ ttl_seconds: 5 }, { ttlSeconds: 5 }, { expire: 5 }, { ifabsent: true }]) {
      await assert.rejects(async () => await kv.set("k", 1, bad as never), /unknown option/);
      await assert.rejects(async () => await kv.setMany({ k: 1 }, bad as never), TypeError);
      await assert.rejects(async () => await kv.incr("c", 1, bad as never), TypeError);
    }
    await assert.rejects(async () => await kv.set("k", 1, { ifVersion: undefined }), TypeError);
    assert.equal(await kv.count(), 0);
    await kv.set("a", 1);
    await assert.rejects(async () => await kv.rename("a", "b", { overwrite: true, force: true } as never), TypeError);
    await assert.rejects(async () => await kv.keys(undefined, { limt: 1 } as never), TypeError);
    await assert.rejects(async () => await Array.fromAsync(kv.list(undefined, { max: 1 } as never)), TypeError);
    await assert.rejects(async () => await kv.close({ optimise: false } as never), TypeError);
    assert.deepEqual(await kv.keys(), ["a"]);
  });
}
