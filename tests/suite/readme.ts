import { assert } from "../assert.ts";
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { TestFn } from "../harness.ts";
import { runCommand } from "./process.ts";
import { tempDir } from "../util.ts";
import { pgPool, pgUrl } from "../pg_target.ts";
import { noPostgres } from "../pg_server.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const env = (globalThis as unknown as { process: { env: Record<string, string> } }).process.env;
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

/** The commands of the README's command line section, one per line, as typed. */
export function cliCommands(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## The command line tool"));
  const block = /^```sh\n([\s\S]*?)^```$/m.exec(section)?.[1] ?? "";
  return block.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

/** The Layout section's first column: the names of each line ("src/public.ts, types.ts"). */
function layoutHeads(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = /^## Layout\n[\s\S]*?^```\n([\s\S]*?)^```$/m.exec(readme)?.[1] ?? "";
  return block.split("\n").map((line) => line.split(/\s{2,}/)[0]!).filter((head) => head !== "");
}

/** Whether the Layout names `path`: on a line of its folder, alone or in a list (`<adapter>.ts` names a folder's each). */
function layoutNames(path: string, heads = layoutHeads()): boolean {
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const base = path.slice(dir.length);
  return heads.some((head) =>
    head.startsWith(dir) && head.slice(dir.length).split(/,\s*/).some((n) => n === base || n === "<adapter>.ts")
  );
}

/** The TypeScript files of the package (the root's, src/, adapters/) and of bench/, relative to the root. */
function sourceFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : []
    );
  const top = readdirSync(root).filter((name) => name.endsWith(".ts"));
  return [...top, ...walk("src"), ...walk("adapters"), ...walk("bench")];
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
  test("the README's Layout names every file of the package and the benchmarks", () => {
    const missing = sourceFiles().filter((path) => !layoutNames(path));
    assert.deepEqual(missing, [], "files the Layout section does not name");
  });
  test("the README's command line block runs as typed, in order, in a checkout", async () => {
    const commands = cliCommands();
    assert.ok(commands.length >= 5, `${commands.length} commands`);
    // A folder that looks like the checkout (its files linked), so that the commands run exactly as written.
    const dir = tempDir();
    for (const name of readdirSync(root)) {
      if (![".git", "data", "backups"].includes(name)) symlinkSync(join(root, name), join(dir, name));
    }
    for (const line of commands) {
      const r = await runCommand("sh", ["-c", `PATH=${bin("")}:${env.PATH} ${line}`], dir);
      assert.equal(r.code, 0, `${line}\n${r.stderr}`);
    }
    const keys = await runCommand(bin("node"), ["src/cli.ts", "copy.db", "keys"], dir);
    assert.equal(keys.stdout, "session:42\n", "the copy holds what was set");
  });
  blocks.forEach((code, i) => {
    // A block on PostgreSQL gets the tests' server in DATABASE_URL, and the checkout's node_modules for "pg".
    const postgres = code.includes("DATABASE_URL");
    for (const [name, command, args] of runtimes) {
      test(`README block ${i + 1} runs on ${name}, and again in the same folder`, async () => {
        const dir = tempDir();
        const file = join(dir, `block${i + 1}.mts`);
        writeFileSync(file, code);
        if (postgres) {
          await pgPool();
          env.DATABASE_URL = pgUrl();
          symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
          writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", dependencies: { pg: "*" } }));
        }
        for (const run of ["first", "second"]) {
          const r = await runCommand(command, [...args, file], dir);
          assert.equal(r.code, 0, `${name}, README block ${i + 1}, ${run} run:\n${r.stderr}`);
        }
      }, { skip: postgres ? noPostgres() : undefined });
    }
  });
}
