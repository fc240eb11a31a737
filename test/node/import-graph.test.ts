// The worker's and the CLI's modules import one another without a circle, and only the worker's entry
// point and its one global declaration file (worker/env.d.ts) name the Durable Object classes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { importCircles, importsOf, moduleGraph } from "../support/import-graph.ts";

const root = join(import.meta.dirname, "../..");
const graph = moduleGraph(root, ["worker", "cli"]);

describe("import graph", () => {
  it("finds a circle when there is one (the check can fail)", () => {
    const withCircle = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts", "d.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", []],
      ["e.ts", ["e.ts"]],
    ]);
    expect(importCircles(withCircle)).toEqual([["a.ts", "b.ts", "c.ts"], ["e.ts"]]);
    expect(importCircles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]]))).toEqual([]);
  });

  it("reads every kind of import, type positions included", () => {
    const text = [
      `import { a } from "./a.ts";`,
      `import type { B } from "./b.ts";`,
      `export * from "./c.ts";`,
      `type D = import("./d.ts").D;`,
      `const e = () => import("./e.ts");`,
    ].join("\n");
    expect(importsOf("x.ts", text).imports.map(({ specifier }) => specifier)).toEqual(["./a.ts", "./b.ts", "./c.ts", "./d.ts", "./e.ts"]);
  });

  it("has the modules it walks", () => {
    expect(graph.get("worker/index.ts")).toContain("worker/relay/relay-object.ts");
    expect(graph.get("worker/env.d.ts")).toContain("worker/relay/relay-object.ts");
    expect(graph.size).toBeGreaterThan(100);
  });

  it("has no import circle in worker/ and cli/", () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it("names the Durable Object classes only in worker/index.ts (for the runtime) and worker/env.d.ts", () => {
    const classes = new Set(["JetstreamRelay", "DeadLetterStore"]);
    const naming = [...graph.keys()].filter((file) =>
      importsOf(file, readFileSync(join(root, file), "utf8")).imports.some(({ names }) => names.some((name) => classes.has(name))),
    );
    expect(naming.sort()).toEqual(["worker/env.d.ts", "worker/index.ts"]);
  });
});
