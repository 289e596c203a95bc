import { assert } from "../assert.ts";
import type { Target, TestFn } from "../harness.ts";
import { KvCodecError } from "../../src/errors.ts";
import { manualClock, tempFile } from "../util.ts";

/** `kv.queue()`, on every target: the synchronous store and the async client alike. */
export function queueTests(test: TestFn, t: Target): void {
  test("a queue hands out messages in enqueue order, each to one claimer, and forgets them once acknowledged", async () => {
    await using kv = await t.open();
    const q = kv.queue<{ n: number }>("jobs");
    assert.equal(kv.queue("jobs"), q, "one object per name");
    const ids = [];
    for (let n = 1; n <= 3; n++) ids.push(await q.enqueue({ n }));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(await q.size(), 3);
    assert.deepEqual((await q.peek(5)).map((m) => m.value.n), [1, 2, 3]);
    const first = (await q.claim())!;
    assert.deepEqual([first.id, first.value, first.attempts], [ids[0], { n: 1 }, 1]);
    assert.deepEqual((await q.peek(5)).map((m) => m.value.n), [2, 3], "a held message is not peeked");
    assert.equal((await q.claim())!.value.n, 2);
    assert.equal(await q.ack(first.id), true);
    assert.equal(await q.ack(first.id), false, "acknowledged once");
    assert.equal(await q.size(), 2);
    assert.equal(await kv.queue("other").size(), 0, "queues are apart");
    assert.equal(await kv.namespace("ns").queue("jobs").size(), 0, "so are namespaces'");
  });

  test("delay, leases and retries follow the store's clock; a lapsed lease delivers again", async () => {
    const clock = manualClock();
    await using kv = await t.open(tempFile(), { now: clock.now });
    const q = kv.queue();
    await q.enqueue("later", { delay: 1000 });
    assert.equal(await q.claim(), undefined, "not due yet");
    clock.advance(1000);
    const held = (await q.claim({ lease: 500 }))!;
    assert.equal(held.value, "later");
    assert.equal(await q.claim(), undefined, "held");
    clock.advance(500);
    const again = (await q.claim())!;
    assert.deepEqual([again.id, again.attempts], [held.id, 2], "the lease lapsed: delivered again");
    assert.equal(await q.nack(again.id, { delay: 100 }), true);
    assert.equal(await q.claim(), undefined);
    clock.advance(100);
    assert.equal((await q.claim())!.attempts, 3);
  });

  test("a failed delivery waits out its backoff; a spent schedule dead-letters it and writes its dead-letter keys", async () => {
    const clock = manualClock();
    await using kv = await t.open(tempFile(), { now: clock.now });
    const q = kv.queue("mail");
    const id = await q.enqueue({ to: "ada" }, { backoff: [100, 200], deadLetterKeys: ["failed:mail:1"] });
    const attempt = async (wait: number) => {
      clock.advance(wait);
      const m = (await q.claim())!;
      assert.equal(m.id, id);
      assert.equal(await q.nack(m.id), true);
      return m.attempts;
    };
    assert.equal(await attempt(0), 1);
    assert.equal(await q.claim(), undefined);
    assert.equal(await attempt(100), 2);
    clock.advance(100);
    assert.equal(await q.claim(), undefined, "the second wait is 200 ms");
    assert.equal(await attempt(100), 3);
    assert.equal(await q.size(), 0, "dead-lettered after the schedule");
    assert.deepEqual((await q.deadLetters()).map((m) => [m.id, m.value, m.attempts]), [[id, { to: "ada" }, 3]]);
    assert.deepEqual(await kv.get("failed:mail:1"), { to: "ada" });
    assert.equal(await q.retry(id), true);
    assert.equal(await q.retry(id), false);
    assert.deepEqual((await q.claim())?.value, { to: "ada" });
    assert.deepEqual(await q.deadLetters(), []);
  });

  test("listen delivers every message at least once, retries a handler that throws, and stops on its signal", async () => {
    await using kv = await t.open(tempFile());
    const q = kv.queue<number>();
    for (let n = 0; n < 20; n++) await q.enqueue(n, { backoff: [0, 0, 0] });
    const seen: number[] = [];
    let failures = 0;
    const stop = new AbortController();
    const done = q.listen(async (n, message) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (n % 5 === 0 && message.attempts === 1) {
        failures++;
        throw new Error("once");
      }
      seen.push(n);
      if (seen.length === 20) stop.abort();
    }, { concurrency: 4, signal: stop.signal });
    await done;
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(failures, 4);
    assert.equal(await q.size(), 0);
    // A message enqueued while listening is picked up without polling the clock.
    const stop2 = new AbortController();
    const got: number[] = [];
    const listening = q.listen((n) => {
      got.push(n);
      stop2.abort();
    }, { signal: stop2.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await q.enqueue(99);
    await listening;
    assert.deepEqual(got, [99]);
  });

  test("an enqueue inside a transaction that rolls back is never delivered", async () => {
    await using kv = await t.open();
    const q = kv.queue();
    if (t.async) {
      await kv.transaction(async () => {
        await q.enqueue("kept");
      });
      await assert.rejects(async () =>
        await kv.transaction(async () => {
          await q.enqueue("dropped");
          throw new Error("roll back");
        })
      );
    } else {
      kv.transaction(() => q.enqueue("kept"));
      assert.throws(() =>
        kv.transaction(() => {
          q.enqueue("dropped");
          throw new Error("roll back");
        })
      );
    }
    assert.deepEqual((await q.peek(10)).map((m) => m.value), ["kept"]);
  }, { skip: t.manyConnections });

  test("bad queue arguments are refused and nothing is enqueued", async () => {
    await using kv = await t.open();
    const q = kv.queue();
    assert.throws(() => kv.queue(5 as unknown as string), TypeError);
    assert.throws(() => kv.queue("a\0b"), RangeError);
    assert.throws(() => kv.queue("x".repeat(257)), RangeError);
    const bad: [unknown, new (...args: never[]) => Error][] = [
      [{ delay: -1 }, RangeError],
      [{ delay: NaN }, RangeError],
      [{ delay: "5" }, TypeError],
      [{ backoff: 100 }, TypeError],
      [{ backoff: [1, 2, 3, 4, 5, 6] }, RangeError],
      [{ backoff: [3_600_001] }, RangeError],
      [{ backoff: [-1] }, RangeError],
      [{ backoff: [1.5] }, RangeError],
      [{ backoff: ["1"] }, TypeError],
      [{ deadLetterKeys: "k" }, TypeError],
      [{ deadLetterKeys: [""] }, RangeError],
      [{ priority: 1 }, TypeError],
    ];
    for (const [options, error] of bad) {
      await assert.rejects(async () => await q.enqueue("x", options as never), error, JSON.stringify(options));
    }
    await assert.rejects(async () => await q.enqueue(() => 1), KvCodecError);
    assert.throws(() => q.listen("not a function" as never), TypeError);
    assert.throws(() => q.listen(() => {}, { concurrency: 0 }), RangeError);
    assert.throws(() => q.listen(() => {}, { lease: 0 }), RangeError);
    await assert.rejects(async () => await q.ack(0), RangeError);
    await assert.rejects(async () => await q.nack(1, { delay: -5 }), RangeError);
    await assert.rejects(async () => await q.claim({ lease: Infinity }), RangeError);
    await assert.rejects(async () => await q.peek(-1), RangeError);
    assert.equal(await q.size(), 0);
  });

  test("closing the store stops its listeners once their running handlers have settled", async () => {
    const path = tempFile();
    const kv = await t.open(path);
    const q = kv.queue<string>();
    await q.enqueue("slow");
    let finished = false;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const listening = q.listen(async () => {
      started();
      await new Promise((resolve) => setTimeout(resolve, 100));
      finished = true;
    });
    await running;
    await kv.close();
    await listening;
    assert.equal(finished, true, "the running handler settled");
    await using again = await t.open(path);
    // The async client waits for the handler before it closes, so its message is acknowledged;
    // the synchronous store's close() cannot wait, so the message is delivered again after its lease.
    assert.equal(await again.queue().size(), t.async ? 0 : 1);
  });
}
