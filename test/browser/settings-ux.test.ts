/// <reference lib="dom" />
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
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
    `[browser test] ${CHROMIUM} not found: install it with \`apt-get install -y chromium\` (.ci/run does) to walk the settings app at desktop and phone widths.`,
  );
}

// The README's pictures are refreshed only on request (MK_UPDATE_SCREENSHOTS=1), so test runs do not
// churn tracked files; otherwise they go to a temporary folder.
const README_SHOTS = fileURLToPath(new URL("../../examples/server/screenshots/", import.meta.url));
const UPDATE = process.env.MK_UPDATE_SCREENSHOTS === "1";
const AXE_SOURCE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A long account id: item 12 (it must not push Log out off-screen). */
const ACCOUNT = "acme-europe-production-tenant-with-a-long-identifier-0042";
const WIDTHS = [1280, 390] as const;

describe.skipIf(!hasChromium)("the settings app at 1280 and 390 px (issue #16)", () => {
  let t: TestApp;
  let shots: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    // The simulator as `pnpm start` runs it (its accounts have acme.example verified).
    t = await startTestApp({ simulator: demoSimulatorOptions() });
    shots = UPDATE ? README_SHOTS : await mkdtemp(join(tmpdir(), "mk-shots-"));
    await mkdir(shots, { recursive: true });
    // launch() gives every run a fresh temporary profile (its own --user-data-dir).
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.url });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("console", (m) => {
      // The 404 page and refused forms (422) answer with their status on purpose.
      if (m.type() === "error" && !/status of (404|422)/.test(m.text())) problems.push(m.text());
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (!UPDATE && shots !== undefined) await rm(shots, { recursive: true, force: true });
  });

  const settingsUrl = () => `${t.url}/accounts/${ACCOUNT}/settings`;
  const focusedId = () => page.evaluate(() => document.activeElement?.id ?? "");
  /** How far the page scrolls sideways (0 = not at all). */
  const sidewaysScroll = () =>
    page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  /** The elements sticking out on the right (for the failure message). */
  const overflowing = () =>
    page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .filter((el) => el.closest(".table-wrap") === null)
        .slice(0, 5)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}.${[...el.classList].join(".")}`),
    );
  const inViewport = (selector: string) =>
    page.evaluate((s) => {
      const el = document.querySelector(s);
      if (el === null) return false;
      const r = el.getBoundingClientRect();
      return r.left >= 0 && r.right <= document.documentElement.clientWidth && r.width > 0;
    }, selector);

  async function logIn(): Promise<void> {
    await page.goto(`${t.url}/login`);
    if (page.url() === `${t.url}/accounts`) return; // already logged in
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`${t.url}/accounts`);
  }

  it("walks the guide: unsaved tests, kept edits, results where the eye is (items 1, 2, 5, 7, 8, 11)", async () => {
    await logIn();
    await page.getByLabel("Account id").fill(ACCOUNT);
    await page.getByRole("button", { name: "Create and configure" }).click();
    await page.waitForURL(settingsUrl());

    // Item 7: the Callback URL before the first save, with Copy announcing "Copied", and the warning.
    expect(await page.locator("#callback-url-short").textContent()).toBe(
      `${t.url}/webhooks/mandrill/${ACCOUNT}`,
    );
    expect(await page.locator("#public-url-warning").isVisible()).toBe(true);
    await page.getByRole("button", { name: "Copy the Callback URL" }).click();
    await expect.poll(() => page.locator("#live-status").textContent()).toBe("Copied");
    expect(await page.evaluate<string>("navigator.clipboard.readText()")).toBe(
      `${t.url}/webhooks/mandrill/${ACCOUNT}`,
    );

    // Item 8: the HTTP API hides the SMTP fields; SMTP shows them.
    await page.getByLabel("HTTP API").check();
    expect(await page.getByLabel("Host").isVisible()).toBe(false);
    expect(await page.getByLabel("Port").isVisible()).toBe(false);
    await page.getByLabel("SMTP", { exact: true }).check();
    expect(await page.getByLabel("Host").isVisible()).toBe(true);

    // Item 2: test before the first save, with what is typed; nothing is saved and the edits stay.
    await page.getByLabel("Username").fill("ops@acme.example");
    await page.getByLabel("API key").fill("md-ux-browser-key-0000-QRST");
    await page.getByLabel("From address").fill("first@acme.example");
    await page.getByLabel("Send to").fill("me@acme.example");
    await page.getByRole("button", { name: "Send a test email" }).click();
    await page.locator("#test-email-result").waitFor();
    // Item 1: the outcome is in the test-email box, focused and on screen.
    expect(await page.locator("#test-email #test-email-result").textContent()).toContain("Success");
    expect(await focusedId()).toBe("test-email-result");
    expect(t.sim.inspect.lastMessage()?.from.email).toBe("first@acme.example");
    expect(await t.example.kit.credentials.describe(ACCOUNT)).toBeUndefined();
    // Item 5: edits kept; the typed key is kept server-side (not shown) and the page says so.
    expect(await page.getByLabel("From address").inputValue()).toBe("first@acme.example");
    expect(await page.getByLabel("Send to").inputValue()).toBe("me@acme.example");
    expect(await page.getByLabel("API key").inputValue()).toBe("");
    expect(await page.locator("#apiKey-help").textContent()).toContain("kept for this form");
    expect(await page.content()).not.toContain("md-ux-browser-key-0000-QRST");

    // "Test connection" beside Save: checks without sending; focus on its result.
    const sent = t.sim.inspect.outbox().length;
    await page.getByRole("button", { name: "Test connection" }).click();
    await page.locator("#connection-result").waitFor();
    expect(await focusedId()).toBe("connection-result");
    expect(await page.locator("#connection-result").textContent()).toContain("API key valid and active");
    // Item 1 of the demo: the From domain is one of the simulator's verified sending domains.
    expect(await page.locator("#connection-result").textContent()).toContain("Connection works");
    expect(t.sim.inspect.outbox().length).toBe(sent);

    // Save the kept form: the typed key is saved without typing it again; the key is checked.
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved. Secrets are stored").waitFor();
    expect(await page.locator("#apiKey-saved").textContent()).toBe("••••QRST");
    expect(await page.getByText("Mandrill accepted the API key").count()).toBeGreaterThan(0);

    // Item 2 again after saving: an edited From is tested and kept, the saved one stays.
    await page.getByLabel("From address").fill("edited@acme.example");
    await page.getByLabel("Send to").fill("me@acme.example");
    await page.getByRole("button", { name: "Send a test email" }).click();
    await page.locator("#test-email-result").waitFor();
    expect(t.sim.inspect.lastMessage()?.from.email).toBe("edited@acme.example");
    expect(await page.getByLabel("From address").inputValue()).toBe("edited@acme.example");
    expect((await t.example.kit.credentials.describe(ACCOUNT))?.fromEmail).toBe("first@acme.example");
    // Item 1: stale results are dropped (no "Last check" next to a fresh result).
    expect(await page.locator("#test-email #last-check").count()).toBe(0);

    // Item 7: register, then "Send a test webhook".
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("button", { name: "Register the Callback URL with Mandrill" }).click();
    await page.getByText("Registered the Callback URL with Mandrill").waitFor();
    await page.getByRole("button", { name: "Send a test webhook" }).click();
    await page.locator("#test-webhook-result").waitFor();
    expect(await page.locator("#test-webhook-result").textContent()).toContain("Test webhook received");
    expect(await focusedId()).toBe("test-webhook-result");

    // Item 11: an "Until" in the past is refused with a field error; the form is kept.
    await nav.getByRole("link", { name: "Suppressions" }).click();
    await page.getByLabel("Address", { exact: true }).fill("old@acme.example");
    await page.getByLabel("Until (optional)").fill("2020-01-31");
    await page.getByRole("button", { name: "Suppress" }).click();
    await page.locator("#expiresAt-error").waitFor();
    expect(await page.locator("#expiresAt-error").textContent()).toContain("must be a date in the future");
    expect(await focusedId()).toBe("error-summary");
    expect(await page.getByLabel("Address", { exact: true }).inputValue()).toBe("old@acme.example");
    expect(await t.example.store.suppressions.check(ACCOUNT, ["old@acme.example"])).toEqual([]);

    // Item 5: the Send page keeps what was typed when nothing could be sent.
    await nav.getByRole("link", { name: "Send", exact: true }).click();
    await page.getByLabel(/^To/).fill(" , ");
    await page.getByLabel("Subject").fill("Kept subject");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.locator("#to-error").waitFor();
    expect(await page.getByLabel("Subject").inputValue()).toBe("Kept subject");
    expect(problems).toEqual([]);
  }, 90_000);

  const pages = () =>
    [
      ["accounts", "/accounts"],
      ["settings", `/accounts/${ACCOUNT}/settings`],
      ["webhooks", `/accounts/${ACCOUNT}/webhooks`],
      ["suppressions", `/accounts/${ACCOUNT}/suppressions?status=all`],
      ["diagnostics", `/accounts/${ACCOUNT}/diagnostics`],
      ["send", `/accounts/${ACCOUNT}/send`],
      ["not-found", "/nope"],
    ] as const;

  it("has no sideways scroll at 1280, 390 and 320 px on any page; Log out stays on screen (items 3, 12)", async () => {
    await logIn();
    // Some content for the tables: a suppression.
    await t.example.store.suppressions.add({
      account: ACCOUNT,
      email: "someone.with.a.long.address@subdomain.acme-example.com",
      reason: "hard-bounce",
      source: "manual",
      detail: "bounced: mailbox does not exist",
      expiresAt: null,
    });
    for (const width of [...WIDTHS, 320]) {
      await page.setViewportSize({ width, height: 860 });
      for (const [name, path] of pages()) {
        await page.goto(`${t.url}${path}`);
        const sideways = await sidewaysScroll();
        expect({ name, width, sideways, sticking: sideways > 0 ? await overflowing() : [] }).toEqual({
          name,
          width,
          sideways: 0,
          sticking: [],
        });
        expect({ name, width, logout: await inViewport(".logout button") }).toEqual({
          name,
          width,
          logout: true,
        });
        if (width !== 320)
          await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
      }
      await page.context().clearCookies();
      // Item 12: without a session an unknown route is the 404 page too, not a trip to the login page.
      const anonymous = await page.goto(`${t.url}/nope`);
      expect({ status: anonymous?.status(), url: page.url() }).toEqual({ status: 404, url: `${t.url}/nope` });
      expect(await page.locator("h1").textContent()).toBe("Page not found");
      await page.goto(`${t.url}/login`);
      expect(await sidewaysScroll()).toBe(0);
      if (width !== 320) await page.screenshot({ path: join(shots, `login-${width}.png`), fullPage: true });
      await logIn();
    }
    // Item 12: the app's 404 page, styled, not "Cannot GET".
    const res = await page.goto(`${t.url}/nope`);
    expect(res?.status()).toBe(404);
    expect(await page.locator("h1").textContent()).toBe("Page not found");
    expect(await page.content()).not.toContain("Cannot GET");
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(problems).toEqual([]);
  }, 90_000);

  it("has no serious or critical axe-core violations on any page", async () => {
    // The app's CSP forbids injected scripts: only this pass bypasses it, to load axe-core.
    const axeContext = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    try {
      await axeContext.addCookies(await context.cookies());
      const axePage = await axeContext.newPage();
      const source = await readFile(AXE_SOURCE, "utf8");
      const found: Record<string, string[]> = {};
      const all = [...pages(), ["login", "/login"] as const];
      for (const [name, path] of all) {
        if (name === "login") await axeContext.clearCookies();
        for (const width of WIDTHS) {
          await axePage.setViewportSize({ width, height: 860 });
          await axePage.goto(`${t.url}${path}`);
          await axePage.addScriptTag({ content: source });
          const violations = await axePage.evaluate(async () => {
            const axe = (
              globalThis as unknown as {
                axe: {
                  run(
                    o: object,
                  ): Promise<{ violations: Array<{ id: string; impact: string | null; nodes: unknown[] }> }>;
                };
              }
            ).axe;
            const r = await axe.run({ resultTypes: ["violations"] });
            return r.violations
              .filter((v) => v.impact === "serious" || v.impact === "critical")
              .map((v) => `${v.id} (${v.impact}, ${v.nodes.length})`);
          });
          found[`${name}@${width}`] = violations;
        }
      }
      const serious = Object.entries(found).filter(([, v]) => v.length > 0);
      expect(serious).toEqual([]);
    } finally {
      await axeContext.close();
    }
  }, 90_000);
});
