import { assert } from "../assert.ts";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { TestFn } from "../harness.ts";
import { runCommand } from "./process.ts";
import { tempDir } from "../util.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name: string) => join(root, "node_modules", ".bin", name);

/** The README's ```ts blocks (not those marked `ignore`), with `jsr:` imports pointed at this checkout. */
export function readmeBlocks(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const exports = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).exports as Record<string, string>;
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  return blocks.map((code) =>
    code.replace(/"jsr:@kvsqlite\/kvsqlite(\/[\w-]+)?"/g, (_, sub: string | undefined) => {
      const file = exports[sub ? `.${sub}` : "."];
      assert.ok(file, `deno.json exports no ${sub ?? "."}`);
      return JSON.stringify(pathToFileURL(join(root, file)).href);
    })
  );
}

/** Every README block runs and its assertions hold, on Node, Bun and Deno. */
export function readmeTests(test: TestFn): void {
  const runtimes: [string, string, string[]][] = [
    ["node", bin("node"), []],
    ["bun", bin("bun"), []],
    ["deno", bin("deno"), ["run", "-A"]],
  ];
  const blocks = readmeBlocks();
  test("the README has runnable blocks", () => assert.ok(blocks.length >= 2));
  blocks.forEach((code, i) => {
    for (const [name, command, args] of runtimes) {
      test(`README block ${i + 1} runs on ${name}`, async () => {
        const dir = tempDir();
        const file = join(dir, `block${i + 1}.mts`);
        writeFileSync(file, code);
        const r = await runCommand(command, [...args, file], dir);
        assert.equal(r.code, 0, `${name}, README block ${i + 1}:\n${r.stderr}`);
      });
    }
  });
}
