/// <reference lib="dom" />
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoSimulatorOptions } from "../../examples/server/src/demo-simulator.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../../examples/server/test/helpers.js";
import { componentMissing } from "../require-component.js";

// Debian's chromium (installed by .ci/run); browsers are never downloaded.
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  componentMissing(
    "MK_REQUIRE_BROWSER",
    `[browser test] ${CHROMIUM} not found: install it with \`apt-get install -y chromium\` (.ci/run does) to measure the settings app's layout and contrast.`,
  );
}

const ACCOUNT = "acme";
/** An account with no settings: its Webhooks page has a disabled Register button. */
const NO_KEY = "acme-no-key";
const WIDTHS = [1280, 390] as const;

/** WCAG 2 contrast ratio of two opaque sRGB colours, `[r, g, b]` 0–255. */
function contrast(a: number[], b: number[]): number {
  const lum = (c: number[]) => {
    const [r, g, bl] = c.map((v) => {
      const s = v / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe.skipIf(!hasChromium)(
  "the settings app's polish, measured in the browser (issue #16 items 13, 14)",
  () => {
    let t: TestApp;
    let browser: Browser;
    let page: Page;

    beforeAll(async () => {
      t = await startTestApp({ simulator: demoSimulatorOptions() });
      const api = (method: string, path: string, body?: unknown) =>
        fetch(`${t.url}/api${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      const saved = await api("PUT", `/accounts/${ACCOUNT}/mandrill`, {
        transport: "smtp",
        host: "smtp.mandrillapp.com",
        port: 587,
        username: "ops@acme.example",
        apiKey: "md-polish-key-0000-ABCD",
        fromEmail: "hello@acme.example",
      });
      expect(saved.status).toBe(201);
      expect((await api("POST", `/accounts/${ACCOUNT}/register-webhook`, {})).status).toBe(200);
      for (const email of ["kept@acme.example", "lifted@acme.example"]) {
        await t.example.store.suppressions.add({
          account: ACCOUNT,
          email,
          reason: "hard-bounce",
          source: "manual",
          detail: "bounced",
          expiresAt: null,
        });
      }
      await t.example.store.suppressions.remove(ACCOUNT, "lifted@acme.example", {
        by: "admin",
        reason: "fixed",
      });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
        ],
      });
      page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(`${t.url}/login`);
      await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${t.url}/accounts`);
      // A test email, so Settings shows the last check's time.
      await page.goto(`${t.url}/accounts/${ACCOUNT}/settings`);
      await page.getByLabel("Send to").fill("me@acme.example");
      await page.getByRole("button", { name: "Send a test email" }).click();
      await page.locator("#test-email-result").waitFor();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await t?.close();
    });

    async function at(width: number, path: string): Promise<void> {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${t.url}${path}`);
    }

    const FORMS = [
      "/accounts",
      `/accounts/${ACCOUNT}/settings`,
      `/accounts/${ACCOUNT}/suppressions`,
      `/accounts/${ACCOUNT}/send`,
      `/accounts/${ACCOUNT}/webhooks`,
    ];

    it("puts every field's label above it, left-aligned with it; the Send page's Text label above its textarea", async () => {
      const misplaced: string[] = [];
      for (const width of WIDTHS) {
        for (const path of FORMS) {
          await at(width, path);
          const found = await page.evaluate(() =>
            [...document.querySelectorAll<HTMLLabelElement>("main label[for]")].flatMap((label) => {
              const control = document.getElementById(label.htmlFor) as HTMLInputElement | null;
              // Radios and checkboxes sit beside their label; so does the Lift reason inside a table row.
              if (control === null || ["radio", "checkbox", "hidden"].includes(control.type)) return [];
              if (label.closest(".lift") !== null) return [];
              const l = label.getBoundingClientRect();
              const c = control.getBoundingClientRect();
              if (c.width === 0 || l.width === 0) return []; // not shown (the SMTP fields under the HTTP API)
              return l.bottom <= c.top + 1 && Math.abs(l.left - c.left) <= 2
                ? []
                : [`${label.htmlFor}: label at (${l.left}, ${l.bottom}), field at (${c.left}, ${c.top})`];
            }),
          );
          misplaced.push(...found.map((f) => `${path} @${width}: ${f}`));
        }
        await at(width, `/accounts/${ACCOUNT}/send`);
        const text = await page.getByLabel("Text").boundingBox();
        const label = await page.locator('label[for="send-text"]').boundingBox();
        expect(label !== null && text !== null && label.y + label.height <= text.y + 1).toBe(true);
      }
      expect(misplaced).toEqual([]);
    });

    it("lines up fields side by side: labels on one line, a button level with the inputs beside it", async () => {
      const ragged: string[] = [];
      for (const width of WIDTHS) {
        for (const path of [`/accounts/${ACCOUNT}/settings`, `/accounts/${ACCOUNT}/suppressions`]) {
          await at(width, path);
          const found = await page.evaluate(() =>
            [...document.querySelectorAll(".inline-fields")].flatMap((row) => {
              const fields = [...row.children].map((field) => ({
                box: field.getBoundingClientRect(),
                label: field.querySelector("label")?.getBoundingClientRect(),
                control: field.querySelector("input, select, button")?.getBoundingClientRect(),
                name: field.querySelector("label")?.textContent ?? field.textContent?.trim() ?? "",
              }));
              // Fields on one line of the row (a phone wraps them onto several).
              return fields.flatMap((a, i) =>
                fields.slice(i + 1).flatMap((b) => {
                  if (a.box.bottom < b.box.top || b.box.bottom < a.box.top) return [];
                  if (a.label !== undefined && b.label !== undefined)
                    return Math.abs(a.label.top - b.label.top) <= 1 ? [] : [`labels ${a.name} / ${b.name}`];
                  const [input, button] =
                    a.label === undefined ? [b.control, a.control] : [a.control, b.control];
                  return input === undefined ||
                    button === undefined ||
                    Math.abs(input.bottom - button.bottom) <= 4
                    ? []
                    : [`button ${a.name} / ${b.name}: ${button.bottom} vs ${input.bottom}`];
                }),
              );
            }),
          );
          ragged.push(...found.map((f) => `${path} @${width}: ${f}`));
        }
      }
      expect(ragged).toEqual([]);
    });

    it("sizes inputs to what they hold: a short Port, a long Host and API key", async () => {
      for (const width of WIDTHS) {
        await at(width, `/accounts/${ACCOUNT}/settings`);
        const w = async (label: string) =>
          (await page.getByLabel(label, { exact: true }).boundingBox())?.width ?? 0;
        const [port, username, host, apiKey] = [
          await w("Port"),
          await w("Username"),
          await w("Host"),
          await w("API key"),
        ];
        expect({ width, port: port <= 130, portShorter: port < username }).toEqual({
          width,
          port: true,
          portShorter: true,
        });
        if (width === 1280)
          expect({ host: host > username, apiKey: apiKey > username }).toEqual({ host: true, apiKey: true });
      }
    });

    it("draws the Transport choice as one box holding its legend, both radios and the help", async () => {
      for (const width of WIDTHS) {
        await at(width, `/accounts/${ACCOUNT}/settings`);
        const box = await page.evaluate(() => {
          const set = document.getElementById("transport") as HTMLFieldSetElement;
          const r = set.getBoundingClientRect();
          const parts = [...set.querySelectorAll("legend, input, label, p")];
          return {
            legend: set.querySelector("legend")?.textContent,
            radios: set.querySelectorAll("input[type=radio]").length,
            outside: parts
              .map((el) => el.getBoundingClientRect())
              .filter(
                (e) => e.top < r.top - 1 || e.bottom > r.bottom + 1 || e.left < r.left || e.right > r.right,
              ).length,
            // The box's height beyond its content: its padding, not an empty band.
            slack: Math.round(
              r.height -
                (Math.max(...parts.map((el) => el.getBoundingClientRect().bottom)) -
                  Math.min(...parts.map((el) => el.getBoundingClientRect().top))),
            ),
          };
        });
        expect({ ...box, slack: box.slack <= 24 }).toEqual({
          legend: "Send through",
          radios: 2,
          outside: 0,
          slack: true,
        });
      }
    });

    it("writes every date on one line, in one format, with the relative time", async () => {
      const wrong: string[] = [];
      let seen = 0;
      for (const width of WIDTHS) {
        for (const path of [
          ...FORMS,
          `/accounts/${ACCOUNT}/suppressions?status=all`,
          `/accounts/${ACCOUNT}/diagnostics`,
        ]) {
          await at(width, path);
          const times = await page.evaluate(() => ({
            iso: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(document.querySelector("main")?.textContent ?? ""),
            items: [...document.querySelectorAll("main time")].map((el) => ({
              text: el.textContent ?? "",
              lines: el.getClientRects().length,
              ago: el.nextElementSibling?.classList.contains("ago")
                ? (el.nextElementSibling.textContent ?? "")
                : "",
              agoLines: el.nextElementSibling?.getClientRects().length ?? 0,
            })),
          }));
          if (times.iso) wrong.push(`${path} @${width}: an ISO time in the text`);
          for (const item of times.items) {
            seen++;
            const ok =
              /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/.test(item.text) &&
              item.lines === 1 &&
              item.agoLines === 1 &&
              /^\((just now|\d+ min ago|\d+ (hour|day)s? ago|in \d+ (min|hours?|days?))\)$/.test(item.ago);
            if (!ok) wrong.push(`${path} @${width}: ${JSON.stringify(item)}`);
          }
        }
      }
      expect(wrong).toEqual([]);
      expect(seen).toBeGreaterThanOrEqual(10);
    });

    it("leaves nothing empty on passing checks: no What to do column, no advice under a pass", async () => {
      for (const width of WIDTHS) {
        await at(width, `/accounts/${ACCOUNT}/diagnostics`);
        const table = await page.evaluate(() => {
          const t = document.querySelector("table.checks") as HTMLTableElement;
          const rows = [...t.querySelectorAll("tbody tr")].filter(
            (r) => r.querySelector(".badge-pass") !== null,
          );
          return {
            headers: [...t.querySelectorAll("thead th")].map((c) => c.textContent),
            passing: rows.length,
            withAdvice: rows.filter((r) => r.querySelector(".advice") !== null).length,
            emptyCells: rows
              .flatMap((r) => [...r.querySelectorAll("th, td")])
              .filter((c) => (c.textContent ?? "").trim() === "").length,
          };
        });
        expect(table.headers).toEqual(["Check", "Result", "Found, and what to do"]);
        expect(table.passing).toBeGreaterThan(2);
        expect({ withAdvice: table.withAdvice, emptyCells: table.emptyCells }).toEqual({
          withAdvice: 0,
          emptyCells: 0,
        });
      }
    });

    it("shows a Status column with each address's status under the all filter", async () => {
      for (const width of WIDTHS) {
        await at(width, `/accounts/${ACCOUNT}/suppressions?status=all`);
        const table = await page.evaluate(() => {
          const t = document.querySelector("#suppressions") as HTMLTableElement;
          const headers = [...t.querySelectorAll("thead th")].map((c) => c.textContent);
          const column = headers.indexOf("Status");
          return {
            column,
            statuses: [...t.querySelectorAll("tbody tr")].map((r) => {
              const cells = r.querySelectorAll("th, td");
              return [cells[0]?.textContent?.trim(), cells[column]?.textContent?.trim()];
            }),
          };
        });
        expect(table.column).toBeGreaterThan(0);
        expect(table.statuses).toEqual(
          expect.arrayContaining([
            ["kept@acme.example", "active"],
            ["lifted@acme.example", "lifted"],
          ]),
        );
      }
    });

    it("gives a disabled button 3:1 against what is around it, and 4.5:1 for its text", async () => {
      const measured: string[] = [];
      for (const width of WIDTHS) {
        await at(width, `/accounts/${NO_KEY}/webhooks`);
        const colours = await page.evaluate(() => {
          const button = document.querySelector<HTMLButtonElement>("main button[disabled]");
          if (button === null) return null;
          const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
          const opaque = (c: string) => {
            const v = rgb(c);
            return v.length === 3 || (v[3] ?? 0) === 1;
          };
          let behind = button.parentElement;
          while (behind !== null && !opaque(getComputedStyle(behind).backgroundColor))
            behind = behind.parentElement;
          const style = getComputedStyle(button);
          return {
            text: button.textContent,
            fg: rgb(style.color).slice(0, 3),
            bg: opaque(style.backgroundColor) ? rgb(style.backgroundColor).slice(0, 3) : null,
            border:
              style.borderTopStyle !== "none" && Number.parseFloat(style.borderTopWidth) >= 1
                ? rgb(style.borderTopColor).slice(0, 3)
                : null,
            behind: rgb(
              behind === null ? "rgb(255, 255, 255)" : getComputedStyle(behind).backgroundColor,
            ).slice(0, 3),
          };
        });
        expect(colours?.text).toBe("Register the Callback URL with Mandrill");
        if (colours === null) return;
        const fill = colours.bg ?? colours.behind;
        // Its edge is what shows it: the border when it has one, else its fill.
        const edge = Math.max(
          colours.border === null ? 0 : contrast(colours.border, colours.behind),
          contrast(fill, colours.behind),
        );
        const text = contrast(colours.fg, fill);
        measured.push(`@${width}: edge ${edge.toFixed(2)}:1, text ${text.toFixed(2)}:1`);
        expect({ width, edge: edge >= 3, text: text >= 4.5 }).toEqual({ width, edge: true, text: true });
      }
      console.info(`[contrast] disabled button ${measured.join("; ")}`);
    });
  },
);
