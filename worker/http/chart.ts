import type { MinuteBucket } from "../contract.ts";
import { formatCount } from "./dashboard-format.ts";
import { html, type SafeHtml } from "./html.ts";

export const CHART_MINUTES = 60;

export interface MinuteSlot {
  /** ISO start of the minute. */
  minute: string;
  received: number;
  forwarded: number;
}

/**
 * The last hour as 60 one-minute slots ending with the current minute, oldest first. Minutes the relay
 * reported nothing for count as zero, so the chart's time axis is right whatever the buckets hold.
 */
export function lastHourSlots(buckets: MinuteBucket[], now: Date): MinuteSlot[] {
  const byMinute = new Map<number, MinuteBucket>();
  for (const bucket of buckets) {
    const ms = Date.parse(bucket.minute);
    if (!Number.isNaN(ms)) byMinute.set(Math.floor(ms / 60_000), bucket);
  }
  const current = Math.floor(now.getTime() / 60_000);
  const slots: MinuteSlot[] = [];
  for (let m = current - CHART_MINUTES + 1; m <= current; m++) {
    const bucket = byMinute.get(m);
    slots.push({ minute: new Date(m * 60_000).toISOString(), received: bucket?.received ?? 0, forwarded: bucket?.forwarded ?? 0 });
  }
  return slots;
}

/** Inline SVG bar chart: received per minute behind, forwarded in front. No script, no external asset. */
export function renderMinuteChart(buckets: MinuteBucket[], now: Date): SafeHtml {
  const slots = lastHourSlots(buckets, now);
  const peak = Math.max(0, ...slots.map((s) => Math.max(s.received, s.forwarded)));
  const max = Math.max(1, peak);
  const width = 600;
  const height = 120;
  const step = width / slots.length;
  const bar = step * 0.8;
  const y = (value: number) => height - (value / max) * height;
  const bars = slots.map((slot, i) => {
    const x = (i * step + (step - bar) / 2).toFixed(2);
    const label = `${slot.minute.slice(11, 16)} UTC: ${formatCount(slot.received)} received, ${formatCount(slot.forwarded)} forwarded`;
    return html`<g class="slot" data-minute="${slot.minute}" data-received="${slot.received}" data-forwarded="${slot.forwarded}"><title>${label}</title><rect class="received" x="${x}" y="${y(slot.received).toFixed(2)}" width="${bar.toFixed(2)}" height="${(height - y(slot.received)).toFixed(2)}"/><rect class="forwarded" x="${x}" y="${y(slot.forwarded).toFixed(2)}" width="${bar.toFixed(2)}" height="${(height - y(slot.forwarded)).toFixed(2)}"/></g>`;
  });
  const total = slots.reduce((sum, s) => sum + s.forwarded, 0);
  const summary = `Events per minute over the last hour: ${formatCount(total)} forwarded, peak ${formatCount(peak)} per minute.`;
  return html`<figure class="chart">
<div class="chart-scale"><span>${formatCount(peak)}/min</span></div>
<svg id="per-minute-chart" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="${summary}">
<line class="grid" x1="0" x2="${width}" y1="0.5" y2="0.5"/><line class="grid" x1="0" x2="${width}" y1="${height / 2}" y2="${height / 2}"/><line class="axis" x1="0" x2="${width}" y1="${height - 0.5}" y2="${height - 0.5}"/>
${bars}
</svg>
<figcaption><span>60 min ago</span><span class="legend"><i class="key received"></i>received <i class="key forwarded"></i>forwarded</span><span>now</span></figcaption>
</figure>`;
}
