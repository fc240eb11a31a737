#!/usr/bin/env node
// Bundles the CLI (cli/main.ts and every command) into dist/cli/ with esbuild, so that the command starts
// without compiling TypeScript. Dependencies stay in node_modules; each command is its own chunk, loaded
// only when that command runs (main.ts imports `./commands/${name}.ts`: esbuild bundles every match). Writes dist/cli/manifest.json last: bin/jetstream-relay.js uses the bundle
// only while no input listed there is newer than the build.
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = resolve(root, process.argv[2] ?? "dist/cli");

const builtAt = Date.now();
await mkdir(outdir, { recursive: true });
await rm(join(outdir, "manifest.json"), { force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: "cli/main.ts" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  chunkNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});
const inputs = Object.keys(result.metafile.inputs)
  .filter((input) => !input.includes(":") && !input.startsWith("node_modules/"))
  .map((input) => relative(root, resolve(root, input)));
// A command file added later changes the folder's time: the bundle, which lacks it, is then stale.
inputs.push("cli/commands");
// Chunks of earlier builds (their names carry a content hash) are no longer referenced: remove them.
const current = new Set(Object.keys(result.metafile.outputs).map((output) => resolve(root, output)));
for (const name of await readdir(outdir)) {
  if (name.endsWith(".js") && !current.has(join(outdir, name))) await rm(join(outdir, name), { force: true });
}
await writeFile(join(outdir, ".gitignore"), "*\n");
await writeFile(join(outdir, "manifest.json"), `${JSON.stringify({ entry: "main.js", builtAt, inputs }, null, 2)}\n`);
process.stderr.write(`built ${relative(root, outdir)}/main.js from ${inputs.length} files\n`);
