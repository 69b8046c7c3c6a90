/** Markup that is already escaped (built by {@link html}); anything else interpolated is escaped. */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/**
 * Tagged template for pages: every interpolated value is escaped unless it is a `SafeHtml` (the
 * result of another `html` template); arrays are joined; `null`, `undefined` and `false` render
 * nothing.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? "");
  });
  return new SafeHtml(out);
}

/** `' checked'` etc. as safe markup when `on`. */
export function attr(name: string, on: boolean): SafeHtml {
  return new SafeHtml(on ? ` ${name}` : "");
}

/** How long ago (or from now) `ms` is, in words: "just now", "5 min ago", "in 3 days". */
export function relativeTime(ms: number, now = Date.now()): string {
  const diff = now - ms;
  const abs = Math.abs(diff);
  if (abs < 45_000) return "just now";
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "min"],
  ];
  const [size, unit] = units.find(([size]) => abs >= size) ?? [60_000, "min"];
  const n = Math.round(abs / size);
  const words = unit === "min" ? `${n} min` : `${n} ${unit}${n === 1 ? "" : "s"}`;
  return diff >= 0 ? `${words} ago` : `in ${words}`;
}

/** The one time format of the pages (UTC to the minute), as text. */
export function timeText(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * A time for people, in the pages' one format: "2026-12-01 03:16 UTC (5 min ago)", in a `<time>`
 * element with the exact instant; a dash when there is none.
 */
export function formatTime(ms: number | null | undefined, now = Date.now()): SafeHtml {
  if (ms === null || ms === undefined) return html`—`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}" title="${iso}">${timeText(ms)}</time> <span class="ago">(${relativeTime(ms, now)})</span>`;
}

/** A status word as a coloured badge (`badge-pass`, `badge-sent`…). */
export function statusBadge(status: string): SafeHtml {
  return html`<span class="badge badge-${status}">${status}</span>`;
}

/** A table that scrolls sideways on its own (phones) instead of the page; keyboard-scrollable. */
export function scrollTable(label: string, table: SafeHtml): SafeHtml {
  return html`<div class="table-wrap" role="region" aria-label="${label}" tabindex="0">${table}</div>`;
}
