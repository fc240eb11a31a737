// The dashboard in a real browser: the real worker (wrangler dev) fed by our Jetstream-compatible server
// with real captured events plus one whose collection carries an XSS payload, delivering to our webhook
// receiver; Debian's Chromium driven by playwright-core. Screenshots go to test-results/ for a person.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startJetstreamTestServer } from "../support/jetstream-test-server.ts";
import { REPO_ROOT, startLocalWorker, type LocalWorker } from "../support/local-worker.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";
import { waitFor } from "../support/wait.ts";

const PAYLOAD = "<img src=x onerror=alert(1)>";
const HOSTILE_COLLECTION = `app.bsky.feed.${PAYLOAD}`;
const SCREENSHOTS = join(REPO_ROOT, "test-results");
const CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

interface Stats {
  totalEvents: number;
  totalReceived: number;
  eventCounts: Record<string, number>;
  forwarded: number;
  delivery: { delivered: number; deadLettered: number; failed: number };
}

let jetstream: { base: string; close(): Promise<void> };
let webhook: { base: string; close(): Promise<void> };
let worker: LocalWorker;
let browser: Browser;

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 90_000) => waitFor(what, probe, timeoutMs, 500);

function hostileEvent(timeUs: number): string {
  return JSON.stringify({
    did: "did:plc:xsstestxsstestxsstest",
    time_us: timeUs,
    kind: "commit",
    commit: { rev: "3lxsstest2222", operation: "create", collection: HOSTILE_COLLECTION, rkey: "3lxsstest2222", record: { text: PAYLOAD }, cid: "bafyreixsstest" },
  });
}

beforeAll(async () => {
  jetstream = await startJetstreamTestServer();
  webhook = await startWebhookReceiver();
  // The hostile event is refused for good by the webhook: the dashboard then shows a dead letter and an error.
  await getJson(`${webhook.base}/_control/rules`, { method: "POST", body: JSON.stringify({ match: "onerror", action: "respond", status: 422, body: `refused ${PAYLOAD}` }) });
  worker = await startLocalWorker({
    WEBHOOK_URL: `${webhook.base}/hook`,
    JETSTREAM_URL: `${jetstream.base}/subscribe`,
    JETSTREAM_COLLECTIONS: "app.bsky.feed.*,app.bsky.graph.*",
    ADMIN_TOKEN: "browser-test-token-of-32-characters-or-more",
    // The test server goes quiet after the events; the relay must not replace the silent socket meanwhile.
    JETSTREAM_STALL_SECONDS: "3600",
  });
  await until("the relay to connect", async () => (await getJson<{ connected: boolean }>(`${worker.url}/status`)).connected);
  const nowUs = Date.now() * 1000;
  await getJson(`${jetstream.base.replace("ws://", "http://")}/control/default/append`, {
    method: "POST",
    body: JSON.stringify({ fixtures: true, startUs: nowUs - 5_000_000, stepUs: 1000 }),
  });
  await getJson(`${jetstream.base.replace("ws://", "http://")}/control/default/append`, { method: "POST", body: JSON.stringify({ events: [hostileEvent(nowUs)] }) });
  await until("every forwarded event to be delivered or dead-lettered", async () => {
    const s = await getJson<Stats>(`${worker.url}/stats`);
    const settled = s.delivery.delivered + s.delivery.deadLettered;
    return s.eventCounts[HOSTILE_COLLECTION] === 1 && s.delivery.deadLettered >= 1 && settled >= s.forwarded ? s : null;
  });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
  await mkdir(SCREENSHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
  await Promise.all([jetstream?.close(), webhook?.close()]);
});

interface Snapshot {
  stats: Stats;
  state: string;
}

async function snapshot(): Promise<Snapshot> {
  const [stats, status] = await Promise.all([getJson<Stats>(`${worker.url}/stats`), getJson<{ state: string }>(`${worker.url}/status`)]);
  return { stats, state: status.state };
}

/** The figures the page shows (rates and lags move on by themselves and are left out). */
const figures = (s: Snapshot) =>
  JSON.stringify([s.state, s.stats.totalEvents, s.stats.totalReceived, s.stats.eventCounts, s.stats.delivery.delivered, s.stats.delivery.deadLettered]);

/**
 * Opens the dashboard and gives the relay's figures as they were while the page rendered: a snapshot
 * taken just before and one just after must agree, else it tries again (the relay may resume and
 * receive again in between, e.g. when wrangler reloads the worker).
 */
async function open(options: { width: number; height: number; dark?: boolean }): Promise<{ page: Page; dialogs: string[]; errors: string[]; shown: Snapshot }> {
  for (let attempt = 1; ; attempt++) {
    const before = await snapshot();
    const context = await browser.newContext({ viewport: { width: options.width, height: options.height }, colorScheme: options.dark ? "dark" : "light", deviceScaleFactor: 1 });
    const page = await context.newPage();
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("request", (request) => {
      if (!request.url().startsWith(worker.url)) errors.push(`external request: ${request.url()}`);
    });
    const response = await page.goto(`${worker.url}/stats/html`, { waitUntil: "load", timeout: 30_000 });
    expect(response?.status()).toBe(200);
    const after = await snapshot();
    if (figures(before) === figures(after) || attempt === 5) return { page, dialogs, errors, shown: after };
    await context.close();
  }
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();
const count = (n: number) => n.toLocaleString("en-US");

describe("dashboard in Chromium", () => {
  it("shows the relay's figures", async () => {
    const { page, errors, shown } = await open({ width: 1280, height: 900 });
    const stats = shown.stats;
    expect(await text(page, "#commit-events")).toContain(count(stats.totalEvents));
    expect(await text(page, "#total-received")).toContain(count(stats.totalReceived));
    expect(await text(page, "#unique-collections")).toContain(String(Object.keys(stats.eventCounts).length));
    const efficiency = Math.round((stats.totalEvents / stats.totalReceived) * 1000) / 10;
    expect(await text(page, "#efficiency")).toContain(`${efficiency}%`);
    expect(await text(page, "#last-event")).toMatch(/ago/);
    expect(await text(page, "#state-pill")).toBe(shown.state);
    expect(await text(page, "#endpoint")).toBe(`${jetstream.base}/subscribe`);
    expect(await text(page, "#delivered")).toContain(count(stats.delivery.delivered));
    expect(await text(page, "#dead-lettered")).toContain(count(stats.delivery.deadLettered));
    expect(await text(page, "#delivery-error")).toContain("422");
    const rows = await page.locator("#collections tbody tr").count();
    expect(rows).toBe(Object.keys(stats.eventCounts).length);
    expect(errors).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard.png"), fullPage: true });
  });

  it("draws the events of the last hour in the chart", async () => {
    const { page, shown } = await open({ width: 1280, height: 900 });
    const stats = shown.stats;
    const slots = page.locator("#per-minute-chart g.slot");
    expect(await slots.count()).toBe(60);
    const received = await slots.evaluateAll((nodes) => nodes.map((n) => Number(n.getAttribute("data-received"))));
    const forwarded = await slots.evaluateAll((nodes) => nodes.map((n) => Number(n.getAttribute("data-forwarded"))));
    expect(received.reduce((a, b) => a + b, 0)).toBe(stats.totalReceived);
    expect(forwarded.reduce((a, b) => a + b, 0)).toBe(stats.totalEvents);
    // The bars are drawn: the tallest is as high as the chart.
    const box = await page.locator("#per-minute-chart").boundingBox();
    const tallest = await page.locator("#per-minute-chart rect.received").evaluateAll((nodes) => Math.max(...nodes.map((n) => n.getBoundingClientRect().height)));
    expect(tallest).toBeGreaterThan(box!.height * 0.9);
  });

  it("shows the hostile collection name as text and runs nothing", async () => {
    const { page, dialogs, errors } = await open({ width: 1280, height: 900 });
    const names = await page.locator("#collections td.name").allInnerTexts();
    expect(names).toContain(HOSTILE_COLLECTION);
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(0);
    // Page-side code as text: this project's Node type-check has no DOM library.
    const withHandlers = await page.evaluate<number>(`[...document.querySelectorAll("*")].filter((el) => [...el.attributes].some((a) => a.name.startsWith("on"))).length`);
    expect(withHandlers).toBe(0);
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("fits a phone in dark mode", async () => {
    const { page } = await open({ width: 390, height: 844, dark: true });
    const layout = await page.evaluate<{ scrollWidth: number; innerWidth: number; background: string; color: string }>(`({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      background: getComputedStyle(document.body).backgroundColor,
      color: getComputedStyle(document.body).color,
    })`);
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
    const channels = (css: string) => css.match(/\d+/g)!.slice(0, 3).map(Number);
    expect(Math.max(...channels(layout.background))).toBeLessThan(60); // dark background
    expect(Math.min(...channels(layout.color))).toBeGreaterThan(180); // light text
    expect(await page.locator("#per-minute-chart").isVisible()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-phone-dark.png"), fullPage: true });
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-phone-dark-first-screen.png") });
    await page.locator("#collections").screenshot({ path: join(SCREENSHOTS, "dashboard-phone-dark-collections.png") });
  });

  it("refreshes itself every 30 seconds", async () => {
    const { page } = await open({ width: 800, height: 600 });
    expect(await page.locator('meta[http-equiv="refresh"]').getAttribute("content")).toBe("30");
  });
});
