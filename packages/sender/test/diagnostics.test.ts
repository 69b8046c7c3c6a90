import { createMemoryStore, type Store } from "@mandrill-kit/core";
import type { MandrillKitMiddleware } from "@mandrill-kit/credentials";
import { createSender, type Diagnosis, type DiagnosticCheck, type Sender } from "@mandrill-kit/sender";
import { DEMO_ACCOUNT, DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closedPort, FAST_API, LOCAL_NETWORK, newKit, simulatorRoute, uniqueEmail } from "./helpers.js";

const BAD_KEY = "md-unknown-key-0000000001";
const LOW_REP_KEY = "sim-low-reputation-key-001";
const MID_REP_KEY = "sim-mid-reputation-key-001";
const WEBHOOK_KEY = "whk-secret-0123456789abcdef";

let sim: Simulator;
let store: Store;
let kit: MandrillKitMiddleware;
let sender: Sender;
let blockedPort: number;

const API = { transport: "api", username: "demo@example.com", fromEmail: "hello@example.com" } as const;
const SMTP = { ...API, transport: "smtp", host: "smtp.mandrillapp.com", port: 587 } as const;

beforeAll(async () => {
  sim = await startSimulator({
    flushIntervalMs: 0,
    accounts: [
      DEMO_ACCOUNT,
      { id: "low", keys: [LOW_REP_KEY], reputation: 20, domains: ["example.com"] },
      { id: "mid", keys: [MID_REP_KEY], reputation: 40, domains: ["example.com"] },
    ],
  });
  blockedPort = await closedPort();
  store = createMemoryStore();
  kit = newKit(store);
  const save = (account: string, input: Record<string, unknown>) => kit.credentials.save(account, input);
  await save("ok-api", { ...API, apiKey: DEMO_KEYS.valid });
  await save("bad-key", { ...API, apiKey: BAD_KEY });
  await save("disabled-key", { ...API, apiKey: DEMO_KEYS.disabled });
  await save("ip-restricted-key", { ...API, apiKey: DEMO_KEYS.ipRestricted });
  await save("unverified", { ...API, apiKey: DEMO_KEYS.valid, fromEmail: "news@unverified.example" });
  await save("unlisted-domain", { ...API, apiKey: DEMO_KEYS.valid, fromEmail: "news@nowhere.example" });
  await save("low-reputation", { ...API, apiKey: LOW_REP_KEY });
  await save("mid-reputation", { ...API, apiKey: MID_REP_KEY });
  await save("smtp-ok", { ...SMTP, apiKey: DEMO_KEYS.valid });
  await save("smtp-blocked", { ...SMTP, apiKey: DEMO_KEYS.valid });
  await save("smtp-untrusted", { ...SMTP, apiKey: DEMO_KEYS.valid });
  await save("smtp-bad-key", { ...SMTP, apiKey: BAD_KEY });
  await save("hooked", { ...API, apiKey: DEMO_KEYS.valid, webhookKey: WEBHOOK_KEY });
  const toSimulator = simulatorRoute(sim);
  sender = createSender({
    network: LOCAL_NETWORK,
    context: kit.context,
    api: { baseUrl: sim.apiUrl, ...FAST_API },
    smtp: {
      connectionTimeoutMs: 2000,
      route: (settings) => {
        if (settings.account === "smtp-blocked")
          return { host: "127.0.0.1", port: blockedPort, secure: false };
        // No CA: the simulator's self-signed certificate cannot be verified.
        if (settings.account === "smtp-untrusted")
          return { host: sim.smtp.host, port: sim.smtp.port ?? 0, secure: false };
        return toSimulator(settings);
      },
    },
  });
});

afterEach(() => {
  sim.control.clearFaults();
  sim.control.clearRecords();
});

afterAll(async () => {
  await sender?.close();
  await sim?.close();
  await store?.close();
});

function check(diagnosis: Diagnosis | null | undefined, id: string): DiagnosticCheck {
  const found = diagnosis?.checks.find((c) => c.id === id);
  if (found === undefined)
    throw new Error(`no "${id}" check in ${JSON.stringify(diagnosis?.checks.map((c) => c.id))}`);
  return found;
}

describe("sendTestEmail", () => {
  it("sends a canned message naming the account and the transport, and keeps the outcome with the settings", async () => {
    const to = uniqueEmail("admin");
    const report = await sender.sendTestEmail("ok-api", to);

    expect(report).toMatchObject({
      ok: true,
      account: "ok-api",
      to,
      transport: "api",
      error: null,
      diagnosis: null,
    });
    expect(report.summary).toMatch(/accepted/);
    expect(report.result?.recipients[0]).toMatchObject({ email: to, status: "sent" });
    const out = sim.inspect.lastMessage();
    expect(out?.subject).toContain("ok-api");
    expect(out?.text).toContain("ok-api");
    expect(out?.text).toContain("HTTP API");
    expect(out?.recipients.map((r) => r.email)).toEqual([to]);
    expect((await kit.credentials.describe("ok-api"))?.lastVerification).toMatchObject({
      ok: true,
      summary: report.summary,
    });
  });

  it("names SMTP and its host and port when the account sends over SMTP", async () => {
    const report = await sender.sendTestEmail("smtp-ok", uniqueEmail("admin"));
    expect(report).toMatchObject({ ok: true, transport: "smtp" });
    const out = sim.inspect.lastMessage();
    expect(out?.transport).toBe("smtp");
    expect(out?.text).toContain("SMTP (smtp.mandrillapp.com:587)");
  });

  it("never throws for Invalid_Key: ok false, the error with its hint, and the diagnosis", async () => {
    const report = await sender.sendTestEmail("bad-key", uniqueEmail("admin"));

    expect(report.ok).toBe(false);
    expect(report.result).toBeNull();
    expect(report.error).toMatchObject({ code: "ERR_MK_MANDRILL_API" });
    expect(report.error?.hint).toMatch(/inactive/);
    expect(report.summary).toContain("Invalid_Key");
    expect(check(report.diagnosis, "api-key").status).toBe("fail");
    expect(JSON.stringify(report)).not.toContain(BAD_KEY);
    expect((await kit.credentials.describe("bad-key"))?.lastVerification).toMatchObject({ ok: false });
  });

  it("reports an unsigned rejection with the result and a failing sending-domain check", async () => {
    const report = await sender.sendTestEmail("unverified", uniqueEmail("admin"));
    expect(report.ok).toBe(false);
    expect(report.result?.recipients[0]).toMatchObject({
      status: "rejected",
      rejectReason: "unsigned",
      rejectSide: "sender",
    });
    expect(report.summary).toContain("unsigned");
    expect(check(report.diagnosis, "sending-domain").status).toBe("fail");
  });

  it("reports a suppressed test address instead of sending to it", async () => {
    const to = uniqueEmail("bounced");
    await store.suppressions.add({ account: "ok-api", email: to, reason: "hard-bounce", source: "manual" });
    const report = await sender.sendTestEmail("ok-api", to);
    expect(report.ok).toBe(false);
    expect(report.summary).toMatch(/suppression list/);
    expect(sim.inspect.outbox()).toHaveLength(0);
  });

  it("refuses a test address that is not an email address", async () => {
    await expect(sender.sendTestEmail("ok-api", "not-an-address")).rejects.toMatchObject({
      code: "ERR_MK_EMAIL_INVALID",
    });
    expect(sim.inspect.outbox()).toHaveLength(0);
  });
});

describe("diagnose", () => {
  it("passes every essential check for a working API account", async () => {
    const diagnosis = await sender.diagnose("ok-api");
    expect(diagnosis.account).toBe("ok-api");
    expect(diagnosis.ok).toBe(true);
    expect(check(diagnosis, "settings").status).toBe("pass");
    expect(check(diagnosis, "api-key").status).toBe("pass");
    expect(check(diagnosis, "account")).toMatchObject({ status: "pass" });
    expect(check(diagnosis, "account").detail).toContain("Reputation 75/100");
    expect(check(diagnosis, "sending-domain").status).toBe("pass");
    expect(check(diagnosis, "smtp").status).toBe("skip");
    expect(sim.inspect.apiLog().map((e) => e.method)).toEqual([
      "users/ping2",
      "users/info",
      "senders/domains",
    ]);
  });

  it("fails without settings and says to save them", async () => {
    const diagnosis = await sender.diagnose("never-saved");
    expect(diagnosis.ok).toBe(false);
    expect(check(diagnosis, "settings")).toMatchObject({ status: "fail" });
  });

  it.each([
    ["an unknown", "bad-key"],
    ["a disabled", "disabled-key"],
    ["an IP-restricted", "ip-restricted-key"],
  ])(
    "fails the api-key check for %s key, with advice on inactive keys and IP restrictions",
    async (_kind, account) => {
      const diagnosis = await sender.diagnose(account);
      expect(diagnosis.ok).toBe(false);
      const apiKey = check(diagnosis, "api-key");
      expect(apiKey.status).toBe("fail");
      expect(apiKey.detail).toContain("Invalid_Key");
      expect(apiKey.advice).toMatch(/inactive/);
      expect(apiKey.advice).toMatch(/IP/);
      expect(check(diagnosis, "account").status).toBe("skip");
      expect(check(diagnosis, "sending-domain").status).toBe("skip");
    },
  );

  it("fails the account check for a poor reputation and warns for a middling one", async () => {
    const low = check(await sender.diagnose("low-reputation"), "account");
    expect(low.status).toBe("fail");
    expect(low.detail).toContain("Reputation 20/100");
    expect(low.advice).toMatch(/reputation/i);
    expect(check(await sender.diagnose("mid-reputation"), "account").status).toBe("warn");
  });

  it("fails the sending-domain check for an unverified From domain, naming unsigned", async () => {
    const domain = check(await sender.diagnose("unverified"), "sending-domain");
    expect(domain.status).toBe("fail");
    expect(domain.detail).toContain("unverified.example");
    expect(domain.detail).toMatch(/not verified|DKIM|SPF/);
    expect(`${domain.detail} ${domain.advice}`).toMatch(/unsigned|DNS/);
  });

  it("fails the sending-domain check for a From domain the account does not have", async () => {
    const domain = check(await sender.diagnose("unlisted-domain"), "sending-domain");
    expect(domain.status).toBe("fail");
    expect(domain.detail).toContain("nowhere.example");
    expect(domain.advice).toContain("unsigned");
  });

  it("passes the SMTP check against the simulator (STARTTLS and AUTH)", async () => {
    const smtp = check(await sender.diagnose("smtp-ok"), "smtp");
    expect(smtp.status).toBe("pass");
    expect(smtp.detail).toContain("STARTTLS");
  });

  it("fails the SMTP check for a port nothing answers on, with port-blocked advice", async () => {
    const smtp = check(await sender.diagnose("smtp-blocked"), "smtp");
    expect(smtp.status).toBe("fail");
    expect(smtp.advice).toMatch(/blocked/);
    expect(smtp.advice).toContain("2525");
  });

  it("fails the SMTP check for a refused login, with advice about the API key", async () => {
    const smtp = check(await sender.diagnose("smtp-bad-key"), "smtp");
    expect(smtp.status).toBe("fail");
    expect(smtp.advice).toMatch(/API key/);
  });

  it("fails the SMTP check for an unverifiable certificate, saying so rather than blaming the port", async () => {
    const smtp = check(await sender.diagnose("smtp-untrusted"), "smtp");
    expect(smtp.status).toBe("fail");
    expect(`${smtp.detail} ${smtp.advice}`).toMatch(/certificate/i);
    expect(smtp.advice).not.toMatch(/blocked/);
  });

  it("warns when no webhook key is saved, pointing at the Callback URL", async () => {
    const webhooks = check(await sender.diagnose("ok-api"), "webhooks");
    expect(webhooks.status).toBe("warn");
    expect(webhooks.advice).toContain(kit.credentials.callbackUrl("ok-api"));
  });

  it("warns while no webhook has arrived, and passes once one did", async () => {
    expect(check(await sender.diagnose("hooked"), "webhooks").status).toBe("warn");
    await store.inbox.ingest({
      account: "hooked",
      events: [
        {
          key: "send:evt-1",
          type: "send",
          email: "someone@example.org",
          messageId: null,
          eventAt: Date.now(),
          raw: "{}",
          state: "done",
        },
      ],
    });
    expect(check(await sender.diagnose("hooked"), "webhooks").status).toBe("pass");
  });

  it("puts no secret in any check", async () => {
    const secrets = [DEMO_KEYS.valid, DEMO_KEYS.disabled, DEMO_KEYS.ipRestricted, BAD_KEY, WEBHOOK_KEY];
    for (const account of [
      "ok-api",
      "bad-key",
      "disabled-key",
      "ip-restricted-key",
      "smtp-ok",
      "smtp-bad-key",
      "hooked",
    ]) {
      const text = JSON.stringify(await sender.diagnose(account));
      for (const secret of secrets) expect(text, `${account} diagnosis`).not.toContain(secret);
    }
  });
});

describe("testing settings not saved yet (credentials.preview)", () => {
  it("sends the test email with the previewed settings, saves nothing and records no verification", async () => {
    const before = await kit.credentials.describe("ok-api");
    const settings = await kit.credentials.preview("ok-api", { fromEmail: "typed@example.com" });
    expect(settings.fromEmail).toBe("typed@example.com");
    expect(settings.apiKey?.reveal()).toBe(DEMO_KEYS.valid); // the saved key, as the form left it empty
    const report = await sender.sendTestEmail("ok-api", uniqueEmail("admin"), { settings });
    expect(report.ok).toBe(true);
    expect(sim.inspect.lastMessage()?.from.email).toBe("typed@example.com");
    const after = await kit.credentials.describe("ok-api");
    expect(after?.fromEmail).toBe("hello@example.com");
    expect(after?.version).toBe(before?.version);
  });

  it("tests a typed key that is not saved, and refuses settings of another account", async () => {
    const settings = await kit.credentials.preview("ok-api", { apiKey: BAD_KEY });
    const report = await sender.sendTestEmail("ok-api", uniqueEmail("admin"), { settings });
    expect(report.ok).toBe(false);
    expect(check(report.diagnosis, "api-key").status).toBe("fail");
    expect((await kit.credentials.get("ok-api"))?.apiKey?.reveal()).toBe(DEMO_KEYS.valid);
    await expect(sender.sendTestEmail("bad-key", uniqueEmail("admin"), { settings })).rejects.toMatchObject({
      code: "ERR_MK_VALIDATION_FAILED",
    });
  });

  it("preview refuses what save refuses, with the same field errors", async () => {
    await expect(
      kit.credentials.preview("ok-api", { port: "99999", transport: "smtp" }),
    ).rejects.toMatchObject({
      code: "ERR_MK_VALIDATION_FAILED",
      fields: [expect.objectContaining({ field: "port" })],
    });
    await expect(
      kit.credentials.preview("ok-api", { host: "127.0.0.1", transport: "smtp" }),
    ).rejects.toMatchObject({
      fields: [expect.objectContaining({ field: "host" })],
    });
  });
});

describe("checkConnection", () => {
  it("checks the key and the SMTP server without sending mail", async () => {
    const settings = await kit.credentials.preview("smtp-ok", {});
    const d = await sender.checkConnection(settings);
    expect(d.checks.map((c) => c.id)).toEqual(["api-key", "sending-domain", "smtp"]);
    expect(d.ok).toBe(true);
    expect(sim.inspect.outbox()).toEqual([]);
  });

  it("reports a refused key and a blocked SMTP port; the API transport has no SMTP check", async () => {
    const bad = await sender.checkConnection(await kit.credentials.preview("smtp-bad-key", {}));
    expect(check(bad, "api-key").status).toBe("fail");
    expect(check(bad, "sending-domain").status).toBe("skip");
    const blocked = await sender.checkConnection(await kit.credentials.preview("smtp-blocked", {}));
    expect(check(blocked, "smtp").status).toBe("fail");
    const api = await sender.checkConnection(await kit.credentials.preview("ok-api", {}));
    expect(api.checks.map((c) => c.id)).toEqual(["api-key", "sending-domain"]);
    expect(api.ok).toBe(true);
  });
});
