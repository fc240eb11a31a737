// The reading of `perf script` output behind bench/thread-profile.ts.
import { expect, test } from "vitest";
import { breakdown, parsePerfScript } from "../../bench/perf-stacks.ts";

const SCRIPT = [
  "workerd 100 ",
  "\t          16d92c __memmove_avx512_unaligned_erms",
  "\t         3fada8b workerd::api::WebSocket::readLoop",
  "",
  "workerd 100 ",
  "\t          16d92c pvm_irq_enable",
  "\t          16d92d asm_exc_page_fault",
  "\t         3fada8b workerd::api::(anonymous namespace)::AllReader::copyInto<char>",
  "",
  "workerd 100 ",
  "\t          aaaaaa v8::internal::JsonParser<unsigned char>::ParseJsonObject",
  "\t          bbbbbb workerd::jsg::promiseContinuation<workerd::api::Body::json(workerd::jsg::Lock&)::$_0>",
  "",
  "workerd 100 ",
  "\t          cccccc [unknown]",
  "\t          dddddd workerd::api::QueueCustomEvent::run",
  "\t          eeeeee workerd::api::WebSocket::readLoop",
  "",
  "workerd 100 ",
  "\t          cccccc kj::EventLoop::turn",
  "",
  "workerd 101 ",
  "\t          cccccc v8::platform::DefaultWorkerThreadsTaskRunner",
  "",
].join("\n");

test("parses samples and their stacks, leaf first", () => {
  const samples = parsePerfScript(SCRIPT);
  expect(samples).toHaveLength(6);
  expect(samples[0]).toEqual({ thread: "workerd 100", frames: ["__memmove_avx512_unaligned_erms", "workerd::api::WebSocket::readLoop"] });
});

test("gives each sample of the busiest thread to the first part on its stack, with the kernel's share", () => {
  const result = breakdown(parsePerfScript(SCRIPT));
  expect(result.thread).toBe("workerd 100");
  expect(result.samples).toBe(5);
  const share = Object.fromEntries(result.parts.map((p) => [p.name.split(":")[0], [p.share, p.kernelShare]]));
  // The consumer's sample also has readLoop on its stack: the Durable Object comes first in the list.
  expect(share["Durable Object"]).toEqual([0.4, 0]);
  expect(share["local queue broker"]).toEqual([0.4, 0.2]);
  expect(share["queue consumer"]).toEqual([0, 0]);
  expect(share["other (the event loop, timers, sockets, the worker's promises resuming)"]).toEqual([0.2, 0]);
  expect(result.parts.reduce((sum, p) => sum + p.share, 0)).toBeCloseTo(1);
});
