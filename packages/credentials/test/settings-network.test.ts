import { createMemoryStore, MandrillKitValidationError } from "@mandrill-kit/core";
import { addKey, createCredentials, mandrillKit, mandrillSettings } from "@mandrill-kit/credentials";
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";

const KEYS = addKey(undefined, "k1");
const PUBLIC_URL = "https://app.example.com";
const VALID = {
  transport: "smtp",
  username: "owner@example.com",
  apiKey: "md-NetworkTestApiKey-0123456789",
  fromEmail: "hello@example.com",
} as const;

async function fieldErrors(promise: Promise<unknown>): Promise<Record<string, string>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MandrillKitValidationError);
  return Object.fromEntries((error as MandrillKitValidationError).fields.map((f) => [f.field, f.message]));
}

describe("SSRF through the saved SMTP host: refused at save time", () => {
  const credentials = () =>
    createCredentials({ store: createMemoryStore(), keys: KEYS, publicUrl: PUBLIC_URL });

  it.each([
    "127.0.0.1",
    "127.1",
    "0x7f.1",
    "2130706433",
    "0177.0.0.1",
    "localhost",
    "mail.localhost",
    "0",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.10",
    "169.254.169.254",
    "100.64.0.1",
    "224.0.0.1",
  ])("refuses host %s with a field error and stores nothing", async (host) => {
    const service = credentials();
    const fields = await fieldErrors(service.save("acme", { ...VALID, host }));
    expect(fields.host).toMatch(/not a private, loopback or link-local address/);
    expect(await service.describe("acme")).toBeUndefined();
  });

  it("refuses IPv6 literals (not host names) and ports other than Mandrill's", async () => {
    const service = credentials();
    expect((await fieldErrors(service.save("acme", { ...VALID, host: "::1" }))).host).toBeDefined();
    for (const port of [22, 80, 6379, 5432, 8025]) {
      const fields = await fieldErrors(service.save("acme", { ...VALID, port }));
      expect(fields.port, String(port)).toMatch(/one of the SMTP ports 25, 587, 2525, 465/);
    }
    for (const port of [25, 587, 2525, 465])
      expect((await service.save("acme", { ...VALID, port })).port).toBe(port);
  });

  it("accepts what the operator's network option allows", async () => {
    const service = createCredentials({
      store: createMemoryStore(),
      keys: KEYS,
      publicUrl: PUBLIC_URL,
      network: { allow: ["relay.internal", "10.1.2.0/24"], ports: [587, 1025] },
    });
    expect((await service.save("a", { ...VALID, host: "relay.internal", port: 1025 })).host).toBe(
      "relay.internal",
    );
    expect((await service.save("b", { ...VALID, host: "10.1.2.3" })).host).toBe("10.1.2.3");
    expect((await fieldErrors(service.save("c", { ...VALID, host: "10.1.3.3" }))).host).toBeDefined();
    expect((await fieldErrors(service.save("d", { ...VALID, port: 25 }))).port).toBeDefined();
  });

  it("answers 422 with the field's error through the settings API", async () => {
    const app = express();
    app.use(mandrillKit({ store: createMemoryStore(), keys: KEYS, publicUrl: PUBLIC_URL }));
    app.use("/admin", mandrillSettings({ authorize: "handled-upstream" }));
    const res = await request(app)
      .put("/admin/acme")
      .send({ ...VALID, host: "169.254.169.254", port: 22 });
    expect(res.status).toBe(422);
    expect(res.body.error.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: "host" }),
        expect.objectContaining({ field: "port" }),
      ]),
    );
  });
});
