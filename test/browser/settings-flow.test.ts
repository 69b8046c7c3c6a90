import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../../examples/server/test/helpers.js";
import { componentMissing } from "../require-component.js";

// Debian's chromium (installed by .ci/run); browsers are never downloaded.
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  componentMissing(
    "MK_REQUIRE_BROWSER",
    `[browser test] ${CHROMIUM} not found: install it with \`apt-get install -y chromium\` (.ci/run does) to run the settings flow in a real browser.`,
  );
}

const SHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
// The README's pictures are refreshed only on request, so test runs do not churn tracked files.
const README_SHOTS = fileURLToPath(new URL("../../examples/server/screenshots/", import.meta.url));
const README_PICTURES = ["settings", "suppressions"];
const BOUNCE = "hard_bounce@test.mandrillapp.com";

describe.skipIf(!hasChromium)("settings flow in a real browser", () => {
  let t: TestApp;
  let profile: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    t = await startTestApp();
    profile = await mkdtemp(join(tmpdir(), "mk-chromium-"));
    await mkdir(SHOTS, { recursive: true });
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1000, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await t?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  async function shot(name: string): Promise<void> {
    const path = join(SHOTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    if (process.env.MK_UPDATE_SCREENSHOTS === "1" && README_PICTURES.includes(name)) {
      await mkdir(README_SHOTS, { recursive: true });
      await copyFile(path, join(README_SHOTS, `${name}.png`));
    }
  }

  it("logs in, saves the Mandrill form, registers the Callback URL, tests, and suppresses a hard bounce", async () => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("response", (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
    });

    await page.goto(`${t.url}/accounts`);
    await expect.poll(() => page.url()).toBe(`${t.url}/login`);
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`${t.url}/accounts`);

    await page.getByLabel("Account id").fill("acme");
    await page.getByRole("button", { name: "Create and configure" }).click();
    await page.waitForURL(`${t.url}/accounts/acme/settings`);
    expect(await page.locator("#simulator-banner").textContent()).toContain("simulator");
    expect(await page.getByLabel("Host").inputValue()).toBe("smtp.mandrillapp.com");
    expect(await page.getByLabel("Port").inputValue()).toBe("587");

    const nav = page.getByRole("navigation", { name: "Main" });
    const apiKey = "md-browser-flow-key-0000-LMNO";
    await page.getByLabel("SMTP").check();
    await page.getByLabel("Username").fill("ops@acme.example");
    await page.getByLabel("API key").fill(apiKey);
    await page.getByLabel("From address").fill("hello@acme.example");
    await page.getByLabel("From name").fill("Acme");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.").waitFor();
    expect(await page.locator("#apiKey-saved").textContent()).toBe("••••LMNO");
    expect(await page.getByLabel("API key").inputValue()).toBe("");
    expect(await page.content()).not.toContain(apiKey);
    expect(await page.locator("#callback-url-short").textContent()).toBe(`${t.url}/webhooks/mandrill/acme`);
    await shot("settings");

    await nav.getByRole("link", { name: "Webhooks" }).click();
    expect(await page.getByLabel(/Give Mandrill this URL/).inputValue()).toBe(
      `${t.url}/webhooks/mandrill/acme`,
    );
    expect(await page.getByRole("button", { name: "Copy" }).isVisible()).toBe(true); // the JS enhancement ran
    await page.getByRole("button", { name: "Register the Callback URL with Mandrill" }).click();
    await page.getByText("Registered the Callback URL with Mandrill").waitFor();
    expect(await page.locator("#webhook-key-status").textContent()).toContain("(current)");
    await shot("webhooks");

    await nav.getByRole("link", { name: "Email settings" }).click();
    await page.getByLabel("Send to").fill("me@acme.example");
    await page.getByRole("button", { name: "Send a test email" }).click();
    const result = page.locator("#test-email-result");
    await result.waitFor();
    expect(await result.textContent()).toContain("Success");

    await nav.getByRole("link", { name: "Send", exact: true }).click();
    await page.getByLabel(/^To/).fill(BOUNCE);
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.locator("#send-result").waitFor();
    expect(await page.locator("#send-result").textContent()).toMatch(
      /hard_bounce@test\.mandrillapp\.com\s*sent/,
    );

    // The simulator posts the signed hard_bounce webhook; poll the Suppressions page until it lands.
    await nav.getByRole("link", { name: "Suppressions" }).click();
    await expect
      .poll(
        async () => {
          await page.reload();
          return (await page.locator("#suppressions").count()) > 0
            ? await page.locator("#suppressions").textContent()
            : "";
        },
        { timeout: 15_000, interval: 250 },
      )
      .toContain(BOUNCE);
    expect(await page.locator("#suppressions").textContent()).toContain("hard-bounce");
    await shot("suppressions");

    await nav.getByRole("link", { name: "Send", exact: true }).click();
    await page.getByLabel(/^To/).fill(BOUNCE);
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.locator("#send-result").waitFor();
    expect(await page.locator("#send-result").textContent()).toMatch(/suppressed\s*hard-bounce/);
    await shot("send-suppressed");

    expect(errors).toEqual([]);
  }, 90_000);
});
