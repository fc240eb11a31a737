/**
 * Reads the output of `perf script -F comm,tid,ip,sym` (one sample per block: a header line, then its
 * stack from the leaf up) and tells where the samples of workerd's thread went, by the runtime's own
 * C++ frames: a sample belongs to the first part (in this order) whose frame is on its stack. The
 * worker's JavaScript frames are not named (no perf map): the C++ frame above them says what called it.
 */

export interface Part {
  name: string;
  /** Substrings of C++ symbols that mark the part. */
  frames: string[];
}

export const PARTS: Part[] = [
  { name: "Durable Object: reading the WebSocket (frames, its JS, its calls to the queue)", frames: ["WebSocket::readLoop"] },
  { name: "queue consumer: the worker's queue() handler", frames: ["QueueCustomEvent::run"] },
  { name: "local queue broker: reading what is sent (a sendBatch body: JSON, base64)", frames: ["Body::json", "AllReader"] },
  { name: "requests into workers (the broker's routes, RPC to the Durable Object)", frames: ["WorkerEntrypoint::request", "WorkerEntrypoint::customEvent", "JsRpc"] },
  { name: "garbage collection outside these", frames: ["Heap::CollectGarbage", "MinorGCJob", "ScavengerCollector"] },
];

export interface Sample {
  thread: string;
  frames: string[];
}

export function parsePerfScript(text: string): Sample[] {
  const samples: Sample[] = [];
  let current: Sample | null = null;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      current = null;
      continue;
    }
    if (!/^\s/.test(line)) {
      const [comm = "", tid = ""] = line.trim().split(/\s+/);
      current = { thread: `${comm} ${tid}`, frames: [] };
      samples.push(current);
    } else if (current) {
      // "    55efe0261657 symbol name (dso)" or, with -F ip,sym, "55efe0261657 symbol name"
      current.frames.push(line.trim().replace(/^[0-9a-f]+\s+/, ""));
    }
  }
  return samples;
}

export interface Breakdown {
  /** The busiest thread's samples. */
  thread: string;
  samples: number;
  parts: { name: string; share: number; kernelShare: number }[];
}

const isKernel = (frame: string) => /^(asm_exc_page_fault|exc_page_fault|entry_SYSCALL|do_syscall_64)/.test(frame);

/** The busiest thread's samples, part by part (with the share spent in the kernel: page faults, system calls). */
export function breakdown(samples: Sample[], parts: Part[] = PARTS): Breakdown {
  const perThread = new Map<string, Sample[]>();
  for (const s of samples) perThread.set(s.thread, [...(perThread.get(s.thread) ?? []), s]);
  const [thread, mine] = [...perThread].sort((a, b) => b[1].length - a[1].length)[0] ?? ["none", []];
  const counts = new Map<string, { n: number; kernel: number }>();
  const other = "other (the event loop, timers, sockets, the worker's promises resuming)";
  for (const s of mine) {
    const part = parts.find((p) => s.frames.some((f) => p.frames.some((marker) => f.includes(marker))))?.name ?? other;
    const count = counts.get(part) ?? { n: 0, kernel: 0 };
    count.n++;
    if (s.frames.some(isKernel)) count.kernel++;
    counts.set(part, count);
  }
  const total = Math.max(1, mine.length);
  return {
    thread,
    samples: mine.length,
    parts: [...parts.map((p) => p.name), other].map((name) => {
      const c = counts.get(name) ?? { n: 0, kernel: 0 };
      return { name, share: c.n / total, kernelShare: c.kernel / total };
    }),
  };
}

/**
 * The symbols the busiest thread's samples of one part ended in (their leaf frame), most first: where
 * that part's time goes inside the runtime. JavaScript without a perf map shows as its address.
 */
export function topLeaves(samples: Sample[], part: Part, count: number): { symbol: string; share: number }[] {
  const perThread = new Map<string, number>();
  for (const s of samples) perThread.set(s.thread, (perThread.get(s.thread) ?? 0) + 1);
  const thread = [...perThread].sort((a, b) => b[1] - a[1])[0]?.[0];
  const mine = samples.filter((s) => s.thread === thread && s.frames.some((f) => part.frames.some((marker) => f.includes(marker))));
  const leaves = new Map<string, number>();
  for (const s of mine) {
    const leaf = s.frames[0]?.replace(/\s+\(.*\)$/, "") ?? "?";
    const symbol = leaf === "[unknown]" || leaf === "" ? "JavaScript or unsymbolised code" : leaf;
    leaves.set(symbol, (leaves.get(symbol) ?? 0) + 1);
  }
  return [...leaves]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([symbol, n]) => ({ symbol, share: n / Math.max(1, mine.length) }));
}
