#!/usr/bin/env node
// The jetstream-relay command. It runs the bundle in dist/cli/ (built by `node bin/build-cli.js`) when that
// bundle is at least as new as every source file it was built from, and the TypeScript sources through tsx
// otherwise (a fresh clone, or sources edited since the last build): slower to start, same behaviour.
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundleDir = join(root, "dist", "cli");

function freshBundle() {
  if (process.env.JETSTREAM_RELAY_FROM_SOURCE === "1") return null;
  try {
    const manifest = JSON.parse(readFileSync(join(bundleDir, "manifest.json"), "utf8"));
    // For measurements while sources change around them (bench/cli-startup.ts): the bundle as built.
    if (process.env.JETSTREAM_RELAY_FROM_BUNDLE === "1") return join(bundleDir, manifest.entry);
    for (const input of manifest.inputs) {
      let mtime;
      try {
        mtime = statSync(join(root, input)).mtimeMs;
      } catch {
        continue; // sources not shipped (installed package): the bundle is all there is
      }
      if (mtime > manifest.builtAt) return null;
    }
    return join(bundleDir, manifest.entry);
  } catch {
    return null;
  }
}

const bundle = freshBundle();
let main;
if (bundle) {
  ({ main } = await import(pathToFileURL(bundle).href));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(pathToFileURL(join(root, "cli", "main.ts")).href));
}
await main(process.argv);
