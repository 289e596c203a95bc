import { assert } from "../assert.ts";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { taggedJson } from "../../src/codec.ts";
import type { TestFn } from "../harness.ts";
import { type Runtime, runWorker } from "./process.ts";
import { SAMPLE } from "../fixtures/sample.ts";
import { tempFile } from "../util.ts";

const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

const RUNTIMES: Runtime[] = [
  { name: "node", command: bin("node"), args: [] },
  { name: "bun", command: bin("bun"), args: [] },
  { name: "deno", command: bin("deno"), args: ["run", "-A"] },
];

/** A file written on each runtime reads back the same on every runtime. */
export function crossRuntimeTests(test: TestFn): void {
  const expected = taggedJson.encode([...SAMPLE].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  for (const writer of RUNTIMES) {
    test(`a file written on ${writer.name} reads the same on node, bun and deno, the deepest value included`, async () => {
      for (const rt of RUNTIMES) assert.ok(existsSync(rt.command), `${rt.command} is installed by npm ci`);
      const path = tempFile();
      const w = await runWorker(writer, ["write-sample", path]);
      assert.deepEqual(w.lines, ["written"], w.stderr);
      for (const reader of RUNTIMES) {
        const r = await runWorker(reader, ["read-sample", path]);
        assert.equal(r.lines[0], expected, `${writer.name} -> ${reader.name}: ${r.stderr}`);
        assert.equal(r.lines[1], "depth 1000", `${writer.name} -> ${reader.name}: the deepest value: ${r.stderr}`);
      }
    });
  }
}

/** Files written through better-sqlite3 and libsql read the same through the built-in drivers, and back. */
export function crossDriverTests(test: TestFn): void {
  const expected = taggedJson.encode([...SAMPLE].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  const node = RUNTIMES[0]!;
  for (const driver of ["better-sqlite3", "libsql"]) {
    const via = { ...node, env: { KVSQLITE_DRIVER: driver } };
    test(`a file written through ${driver} reads the same on node, bun and deno, and one of node's reads through it`, async () => {
      const path = tempFile();
      const w = await runWorker(via, ["write-sample", path]);
      assert.deepEqual(w.lines, ["written"], w.stderr);
      for (const reader of RUNTIMES) {
        const r = await runWorker(reader, ["read-sample", path]);
        assert.equal(r.lines[0], expected, `${driver} -> ${reader.name}: ${r.stderr}`);
        assert.equal(r.lines[1], "depth 1000", `${driver} -> ${reader.name}`);
      }
      const back = tempFile();
      assert.deepEqual((await runWorker(node, ["write-sample", back])).lines, ["written"]);
      const r = await runWorker(via, ["read-sample", back]);
      assert.equal(r.lines[0], expected, `node -> ${driver}: ${r.stderr}`);
      assert.equal(r.lines[1], "depth 1000", `node -> ${driver}`);
    });
  }
}
