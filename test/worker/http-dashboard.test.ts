import { describe, expect, it } from "vitest";
import { lastHourSlots } from "../../worker/http/chart.ts";
import { renderDashboard, renderDashboardError, type DashboardData } from "../../worker/http/dashboard.ts";
import { escapeHtml, html } from "../../worker/http/html.ts";
import { busyStats, connectedStatus, emptyStats, HOSTILE, NOW, unhealthyReport, V2_ENDPOINT, v2Stats, v2Status } from "./http-fixtures.ts";

interface ParsedElement {
  tag: string;
  attributes: Record<string, string>;
}

/** Parses the page with workerd's HTMLRewriter: elements with their attributes, texts by element id. */
async function parse(page: string): Promise<{ elements: ParsedElement[]; textById: Map<string, string>; text: string }> {
  const elements: ParsedElement[] = [];
  const textById = new Map<string, string>();
  const open: string[] = [];
  let text = "";
  const rewriter = new HTMLRewriter()
    .on("*", {
      element(el) {
        elements.push({ tag: el.tagName, attributes: Object.fromEntries([...el.attributes]) });
        const id = el.getAttribute("id");
        if (id && el.onEndTag) {
          open.push(id);
          textById.set(id, "");
          el.onEndTag(() => {
            open.splice(open.indexOf(id), 1);
          });
        }
      },
    })
    .onDocument({
      text(chunk) {
        text += chunk.text;
        for (const id of open) textById.set(id, textById.get(id)! + chunk.text);
      },
    });
  await rewriter.transform(new Response(page)).text();
  return { elements, textById, text };
}

/** Decodes the entities the escaper writes, as a browser would when showing text. */
const decode = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
const squash = (s: string | undefined) => decode(s ?? "").replace(/\s+/g, " ").trim();
/** The value cell of a labelled row (the label's text and the value's run together in the row's text). */
const rowValue = (row: string | undefined, label: string) => {
  const text = squash(row);
  expect(text.startsWith(label), text).toBe(true);
  return text.slice(label.length).trim();
};

function data(overrides: Partial<DashboardData> = {}): DashboardData {
  return {
    stats: busyStats(),
    status: connectedStatus(),
    health: unhealthyReport(),
    deadLetters: { total: 5, evicted: 2 },
    version: "9.9.9",
    now: NOW,
    problems: [],
    ...overrides,
  };
}

describe("html escaping", () => {
  it("escapes the five special characters and interpolated values by default", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    expect(html`<p>${HOSTILE}</p>`.value).toBe("<p>&lt;img src=x onerror=alert(1)&gt;</p>");
    expect(html`<p>${[HOSTILE, html`<b>ok</b>`]}</p>`.value).toBe("<p>&lt;img src=x onerror=alert(1)&gt;<b>ok</b></p>");
    expect(html`<p>${null}${undefined}${false}${0}</p>`.value).toBe("<p>0</p>");
  });
});

describe("dashboard renderer", () => {
  it("shows the original's figures and the added ones", async () => {
    const page = renderDashboard(data());
    const { textById } = await parse(page);
    expect(squash(textById.get("commit-events"))).toContain("4,607");
    expect(squash(textById.get("total-received"))).toContain("92,140");
    expect(squash(textById.get("efficiency"))).toContain("5%"); // 4,607 / 92,140
    expect(squash(textById.get("unique-collections"))).toContain("3");
    expect(squash(textById.get("last-event"))).toContain("5 s ago");
    expect(squash(textById.get("last-event"))).toContain("2026-11-29 03:30:15 UTC");
    expect(squash(textById.get("lag"))).toContain("5.2 s");
    expect(squash(textById.get("state-pill"))).toBe("connected");
    expect(squash(textById.get("endpoint"))).toBe("wss://jetstream1.us-east.bsky.network/subscribe");
    expect(squash(textById.get("delivered"))).toContain("4,500");
    expect(squash(textById.get("retried"))).toContain("42");
    expect(squash(textById.get("dead-lettered"))).toContain("5");
    expect(squash(textById.get("dead-letters-stored"))).toContain("2 evicted");
    expect(squash(textById.get("delivery-error"))).toContain(`webhook answered 500: ${HOSTILE}`);
    expect(squash(textById.get("reconnects"))).toContain("3");
    expect(squash(textById.get("gaps"))).toContain("1 detected, 1 unacknowledged");
    expect(squash(textById.get("health-pill"))).toBe("unhealthy");
    expect(squash(textById.get("problems"))).toContain("delivery-failing");
    const collections = squash(textById.get("collections"));
    expect(collections.indexOf("app.bsky.feed.like")).toBeLessThan(collections.indexOf("app.bsky.feed.post")); // busiest first
    expect(collections).toContain("3,400");
  });

  it("shows a hostile collection name, error and endpoint as text, never as markup", async () => {
    const page = renderDashboard(data());
    const { elements, textById, text } = await parse(page);
    expect(elements.filter((e) => e.tag === "img")).toHaveLength(0);
    expect(elements.filter((e) => e.tag === "script")).toHaveLength(0);
    for (const element of elements) {
      for (const name of Object.keys(element.attributes)) expect(name.startsWith("on"), `${element.tag} has ${name}`).toBe(false);
    }
    expect(squash(textById.get("collections"))).toContain(HOSTILE);
    expect(decode(text)).toContain(HOSTILE);
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(page).not.toContain(HOSTILE);
  });

  it("draws the last hour as 60 one-minute bars from the relay's buckets", async () => {
    const page = renderDashboard(data());
    const { elements } = await parse(page);
    expect(elements.some((e) => e.tag === "svg" && e.attributes.id === "per-minute-chart")).toBe(true);
    const slots = elements.filter((e) => e.tag === "g" && e.attributes.class === "slot");
    expect(slots).toHaveLength(60);
    expect(slots[59]!.attributes).toMatchObject({ "data-minute": "2026-11-29T03:30:00.000Z", "data-received": "2140", "data-forwarded": "107" });
    expect(slots[58]!.attributes).toMatchObject({ "data-minute": "2026-11-29T03:29:00.000Z", "data-received": "90000", "data-forwarded": "4500" });
    expect(slots[0]!.attributes["data-minute"]).toBe("2026-11-29T02:31:00.000Z");
    expect(slots.filter((s) => s.attributes["data-received"] !== "0")).toHaveLength(2); // 02:00 lies outside the hour
    // The tallest bar fills the chart's height (120).
    const rects = elements.filter((e) => e.tag === "rect" && e.attributes.class === "received");
    expect(Number(rects[58]!.attributes.height)).toBeCloseTo(120);
  });

  it("fills minutes without a bucket with zero", () => {
    const slots = lastHourSlots([{ minute: "2026-11-29T03:00:00.000Z", received: 5, forwarded: 1 }], NOW);
    expect(slots).toHaveLength(60);
    expect(slots.find((s) => s.minute === "2026-11-29T03:00:00.000Z")).toEqual({ minute: "2026-11-29T03:00:00.000Z", received: 5, forwarded: 1 });
    expect(slots.reduce((n, s) => n + s.received, 0)).toBe(5);
  });

  it("renders the empty state before the first event", async () => {
    const page = renderDashboard(data({ stats: emptyStats(), health: { healthy: true, reasons: [], checkedAt: NOW.toISOString() }, deadLetters: { total: 0, evicted: 0 } }));
    const { elements, textById } = await parse(page);
    expect(squash(textById.get("commit-events"))).toContain("0");
    expect(squash(textById.get("efficiency"))).toContain("—");
    expect(squash(textById.get("last-event"))).toContain("never");
    expect(squash(textById.get("lag"))).toContain("no cursor yet");
    expect(squash(textById.get("no-collections"))).toBe("No commit events yet.");
    expect(squash(textById.get("health-pill"))).toBe("healthy");
    expect(textById.has("problems")).toBe(false);
    const slots = elements.filter((e) => e.tag === "g" && e.attributes.class === "slot");
    expect(slots).toHaveLength(60);
    expect(slots.every((s) => s.attributes["data-received"] === "0")).toBe(true);
    expect(page).not.toContain("NaN");
  });

  it("says which parts are missing when the status and health are unavailable", async () => {
    const page = renderDashboard(data({ status: null, health: null, deadLetters: null, problems: [`status failed: ${HOSTILE}`] }));
    const { textById, elements } = await parse(page);
    expect(squash(textById.get("health-pill"))).toBe("health unknown");
    expect(squash(textById.get("state-pill"))).toBe("unknown");
    expect(squash(textById.get("problems"))).toContain(`status failed: ${HOSTILE}`);
    expect(elements.filter((e) => e.tag === "img")).toHaveLength(0);
    expect(page).toContain("Status unavailable.");
  });

  it("refreshes every 30 s, fits a phone and follows dark mode", async () => {
    const { elements } = await parse(renderDashboard(data()));
    const meta = elements.filter((e) => e.tag === "meta");
    expect(meta.find((m) => m.attributes["http-equiv"] === "refresh")?.attributes.content).toBe("30");
    expect(meta.find((m) => m.attributes.name === "viewport")?.attributes.content).toContain("width=device-width");
    const page = renderDashboard(data());
    expect(page).toContain("prefers-color-scheme:dark");
    expect(elements.filter((e) => e.tag === "link" || (e.tag === "script" && e.attributes.src))).toHaveLength(0);
  });

  it("lists configuration problems once, with their fix", async () => {
    const status = { ...connectedStatus(), state: "config-error" as const, connected: false, configErrors: [{ variable: "WEBHOOK_URL", message: `WEBHOOK_URL is not a URL: ${HOSTILE}`, fix: "Set WEBHOOK_URL to an https:// URL." }] };
    const health = { healthy: false, reasons: [{ code: "config-error", message: "Configuration invalid, not connecting. WEBHOOK_URL …" }], checkedAt: NOW.toISOString() };
    const { textById, elements } = await parse(renderDashboard(data({ status, health })));
    const problems = squash(textById.get("problems"));
    expect(problems).toContain(`WEBHOOK_URL WEBHOOK_URL is not a URL: ${HOSTILE} Set WEBHOOK_URL to an https:// URL.`);
    expect(problems).not.toContain("Configuration invalid");
    expect(squash(textById.get("state-pill"))).toBe("config-error");
    expect(elements.filter((e) => e.tag === "img")).toHaveLength(0);
  });

  it("lists configuration warnings (escaped) while the relay runs", async () => {
    const status = { ...connectedStatus(), configWarnings: [{ variable: "JETSTREAM_RETENTION_HOURS", message: `JETSTREAM_RETENTION_HOURS is "${HOSTILE}"`, fix: "Set it to a number." }] };
    const { textById, elements } = await parse(renderDashboard(data({ status })));
    expect(squash(textById.get("problems"))).toContain(`JETSTREAM_RETENTION_HOURS (warning) JETSTREAM_RETENTION_HOURS is "${HOSTILE}" Set it to a number.`);
    expect(squash(textById.get("state-pill"))).toBe("connected");
    expect(elements.filter((e) => e.tag === "img")).toHaveLength(0);
  });

  it("shows the collection filter of the effective configuration", async () => {
    const status = connectedStatus();
    status.config = { webhookOrigin: "https://example.test", webhookFingerprint: "0123abcd", collections: ["app.bsky.feed.post", "app.bsky.graph.*"], dids: 0, kinds: ["commit"], endpoints: [], batchMode: false, webhookSigned: true, webhookBearer: false, adminTokenSet: true };
    const { textById } = await parse(renderDashboard(data({ status })));
    expect(squash(textById.get("filter"))).toContain("app.bsky.feed.post, app.bsky.graph.*");
  });

  it("shows the wire, the position's seq, ConsumerTooSlow and exact gaps with their seqs on v2", async () => {
    const page = renderDashboard(data({ stats: v2Stats(), status: v2Status() }));
    const { elements, textById } = await parse(page);
    expect(squash(textById.get("wire-pill"))).toBe("v2 wire");
    expect(rowValue(textById.get("conn-wire"), "Wire")).toBe("v2");
    expect(rowValue(textById.get("position"), "Position")).toBe(`seq 123,456,789 on ${V2_ENDPOINT} (v2) · 2026-11-29 03:30:15 UTC (5 s ago)`);
    expect(rowValue(textById.get("consumer-too-slow"), "Too slow (ConsumerTooSlow)")).toMatch(/^2 the server closed because the relay read too slowly/);
    const gapRows = elements.filter((e) => e.tag === "tr" && e.attributes.class?.startsWith("gap"));
    expect(gapRows.map((e) => e.attributes.class)).toEqual(["gap exact", "gap"]);
    const gaps = squash(textById.get("gaps"));
    expect(gaps).toContain("2 detected, 2 unacknowledged");
    expect(squash(textById.get("gap-0-seqs"))).toBe("100,000 → 102,500");
    expect(squash(textById.get("gap-0-known"))).toBe(`exact CursorTooOld: cursor 100000 is below the floor seq 102500 ${HOSTILE}`);
    // The legacy gap: no seqs, known by the threshold.
    expect(squash(textById.get("gap-1-seqs"))).toBe("—");
    expect(squash(textById.get("gap-1-known"))).toBe("inferred");
    expect(elements.filter((e) => e.tag === "img")).toHaveLength(0);
    expect(page).not.toContain(HOSTILE);
  });

  it("on the legacy wire: the position has no seq, and nothing was too slow", async () => {
    const { textById } = await parse(renderDashboard(data()));
    expect(squash(textById.get("wire-pill"))).toBe("legacy wire");
    expect(rowValue(textById.get("position"), "Position")).toBe("2026-11-29 03:30:15 UTC (5 s ago) on wss://jetstream1.us-east.bsky.network/subscribe (legacy) · no seq on this wire");
    expect(rowValue(textById.get("consumer-too-slow"), "Too slow (ConsumerTooSlow)")).toBe("0");
    expect(squash(textById.get("gap-0-known"))).toBe("inferred");
  });

  it("shows no position before the first event, and no wire when the status does not know it", async () => {
    const status = { ...connectedStatus(), wire: null, position: null };
    const { textById } = await parse(renderDashboard(data({ stats: emptyStats(), status })));
    expect(textById.has("wire-pill")).toBe(false);
    expect(rowValue(textById.get("conn-wire"), "Wire")).toBe("unknown");
    expect(rowValue(textById.get("position"), "Position")).toBe("none yet");
  });

  it("escapes the message of the error page", async () => {
    const page = renderDashboardError(`relay failed: ${HOSTILE}`, "9.9.9");
    const { elements, textById } = await parse(page);
    expect(elements.filter((e) => e.tag === "img")).toHaveLength(0);
    expect(squash(textById.get("error"))).toBe(`relay failed: ${HOSTILE}`);
  });
});
