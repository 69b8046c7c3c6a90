import { format, inspect } from "node:util";
import {
  createConsoleLogger,
  type LogContext,
  type Logger,
  type LogLevel,
  MandrillKitStoreError,
  Secret,
  silentLogger,
} from "@mandrill-kit/core";
import { componentLogger, maskSecret, redact } from "@mandrill-kit/core/plugin";
import fc from "fast-check";
import { pino } from "pino";
import { describe, expect, it } from "vitest";

const API_KEY = "md-7Hq2LxP9vNc4Rt8WzK1abcd";
const MASKED_API_KEY = "••••abcd";

/** A secret value that cannot appear by accident in any other part of a test's data. */
const secretValue = fc.stringMatching(/^[A-Za-z0-9]{24}$/).map((s) => `SECRET${s}`);

/** The parts of a secret that must never be shown: everything but the last 4 characters. */
function hiddenPart(secret: string): string {
  return secret.slice(0, -4);
}

function recordingLogger(): {
  logger: Logger;
  entries: Array<{ level: LogLevel; context: LogContext; message: string }>;
} {
  const entries: Array<{ level: LogLevel; context: LogContext; message: string }> = [];
  const method = (level: LogLevel) => (context: LogContext, message: string) => {
    entries.push({ level, context, message });
  };
  return {
    logger: { debug: method("debug"), info: method("info"), warn: method("warn"), error: method("error") },
    entries,
  };
}

function memoryStream(): {
  stream: { write(chunk: string): boolean };
  lines: () => Array<Record<string, unknown>>;
  text: () => string;
} {
  const chunks: string[] = [];
  return {
    stream: {
      write(chunk: string) {
        chunks.push(chunk);
        return true;
      },
    },
    text: () => chunks.join(""),
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe("Secret", () => {
  const secret = new Secret(API_KEY);

  it("returns the value from reveal()", () => {
    expect(secret.reveal()).toBe(API_KEY);
  });

  it("shows only the masked form in JSON, String(), template literals and util.inspect", () => {
    expect(JSON.stringify(secret)).toBe(`"${MASKED_API_KEY}"`);
    expect(String(secret)).toBe(MASKED_API_KEY);
    expect(`${secret}`).toBe(MASKED_API_KEY);
    expect([secret].join("")).toBe(MASKED_API_KEY);
    expect(inspect(secret)).not.toContain(hiddenPart(API_KEY));
    expect(inspect(secret)).toContain(MASKED_API_KEY);
    expect(secret.masked).toBe(MASKED_API_KEY);
  });

  it("does not leak when nested inside objects and arrays", () => {
    const holder = {
      account: "acme",
      credentials: { api: [secret], nested: { deeper: { deepest: { secret } } } },
    };
    const outputs = [
      JSON.stringify(holder),
      inspect(holder),
      inspect(holder, { depth: Number.POSITIVE_INFINITY }),
      inspect(holder, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      inspect(secret, { customInspect: false }),
      format("%s %o %O %j", secret, holder, holder, holder),
      String(new Error(`rejected key ${secret}`)),
    ];
    for (const output of outputs) expect(output).not.toContain(hiddenPart(API_KEY));
  });

  it("does not expose the value through spreading or enumerating", () => {
    expect(JSON.stringify({ ...secret })).not.toContain(hiddenPart(API_KEY));
    expect(Object.values(secret)).toEqual([]);
    expect(
      JSON.stringify(
        Object.getOwnPropertyNames(secret).map(
          (name) => (secret as unknown as Record<string, unknown>)[name],
        ),
      ),
    ).not.toContain(hiddenPart(API_KEY));
  });

  it("never shows any secret's hidden part in any printed form", () => {
    fc.assert(
      fc.property(secretValue, (value) => {
        const s = new Secret(value);
        const printed = [
          JSON.stringify({ s }),
          String(s),
          `${s}`,
          inspect({ s }),
          inspect([[s]], { depth: 10 }),
        ];
        for (const output of printed) expect(output).not.toContain(hiddenPart(value));
        expect(s.reveal()).toBe(value);
      }),
      { numRuns: 100 },
    );
  });

  it("compares with another secret or a string", () => {
    expect(secret.equals(API_KEY)).toBe(true);
    expect(secret.equals(new Secret(API_KEY))).toBe(true);
    expect(secret.equals(`${API_KEY}x`)).toBe(false);
    expect(secret.equals(API_KEY.slice(0, -1))).toBe(false);
    expect(secret.equals(API_KEY.toUpperCase())).toBe(false);
    expect(secret.equals("")).toBe(false);
  });

  it("is equal exactly when the strings are equal", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        expect(new Secret(a).equals(b)).toBe(a === b);
        expect(new Secret(a).equals(a)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("does not treat different strings with unpaired surrogates as equal", () => {
    // Both would encode to the UTF-8 replacement character if compared as UTF-8 bytes.
    expect(new Secret("key\ud800").equals("key\udc00")).toBe(false);
    expect(new Secret("key\ud800").equals("key\ufffd")).toBe(false);
  });
});

describe("maskSecret", () => {
  it("shows the last 4 characters of a secret of 12 characters or more", () => {
    expect(maskSecret("abcdefgh1234")).toBe("••••1234");
    expect(maskSecret(API_KEY)).toBe(MASKED_API_KEY);
  });

  it("shows nothing of a secret shorter than 12 characters", () => {
    expect(maskSecret("abcdefg1234")).toBe("••••");
    expect(maskSecret("x")).toBe("••••");
    expect(maskSecret("")).toBe("••••");
  });

  it("never reveals more than the last 4 characters, nor the length", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 200 }), (value) => {
        const masked = maskSecret(value);
        if (value.length >= 12) {
          expect(masked).toBe(`••••${value.slice(-4)}`);
        } else {
          expect(masked).toBe("••••");
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("redact", () => {
  it.each([
    "apiKey",
    "api_key",
    "API-KEY",
    "key",
    "password",
    "pass",
    "authorization",
    "Authorization",
    "webhookKey",
    "webhook_keys",
    "token",
    "accessToken",
    "secret",
    "cookie",
    "set-cookie",
    "x-mandrill-signature",
    "masterKey",
  ])("masks the value of %s", (name) => {
    expect(redact({ [name]: API_KEY })).toEqual({ [name]: MASKED_API_KEY });
  });

  it("masks secret-named values deep inside objects and arrays", () => {
    const input = {
      account: "acme",
      request: {
        headers: { Authorization: `Basic ${API_KEY}`, "content-type": "application/json" },
        body: { key: API_KEY, message: { to: [{ email: "a@example.com" }] } },
      },
      accounts: [
        { id: "a", settings: { smtp: { password: API_KEY } } },
        { id: "b", webhookKeys: [API_KEY, API_KEY] },
      ],
    };
    const output = redact(input);
    expect(JSON.stringify(output)).not.toContain(hiddenPart(API_KEY));
    expect(output).toEqual({
      account: "acme",
      request: {
        headers: { Authorization: MASKED_API_KEY, "content-type": "application/json" },
        body: { key: MASKED_API_KEY, message: { to: [{ email: "a@example.com" }] } },
      },
      accounts: [
        { id: "a", settings: { smtp: { password: MASKED_API_KEY } } },
        { id: "b", webhookKeys: "••••" },
      ],
    });
  });

  it("masks Secret values under any name", () => {
    expect(redact({ anything: new Secret(API_KEY), list: [new Secret("short")] })).toEqual({
      anything: MASKED_API_KEY,
      list: ["••••"],
    });
    expect(redact(new Secret(API_KEY))).toBe(MASKED_API_KEY);
  });

  it("never leaks a secret placed under a secret name at any depth", () => {
    const secretName = fc.constantFrom(
      "apiKey",
      "api_key",
      "password",
      "authorization",
      "webhookKey",
      "token",
      "secret",
    );
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 3 }),
        fc.array(fc.oneof(fc.constantFrom("context", "request", "body", "0", "items"), fc.nat({ max: 3 })), {
          maxLength: 12,
        }),
        secretName,
        secretValue,
        (noise, path, name, value) => {
          let holder: unknown = { [name]: value, noise };
          for (const step of [...path].reverse())
            holder = typeof step === "number" ? [noise, holder] : { [step]: holder, noise };
          const output = JSON.stringify(redact(holder));
          expect(output).not.toContain(hiddenPart(value));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps values under other names as they are", () => {
    const looksSecret = (key: string) =>
      key === "__proto__" ||
      /^k$|key|pass|secret|token|cookie|jwk|signature|authorization/.test(
        key.toLowerCase().replace(/[-_]/g, ""),
      );
    const hasSecretLookingKey = (value: unknown): boolean =>
      value !== null &&
      typeof value === "object" &&
      Object.entries(value).some(([key, item]) => looksSecret(key) || hasSecretLookingKey(item));
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        fc.pre(!hasSecretLookingKey(value));
        const wrapped = { account: "acme", detail: value };
        expect(redact(wrapped)).toEqual(wrapped);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a key named "__proto__" as data, without changing the prototype of the copy', () => {
    const input = JSON.parse('{"__proto__":{"component":"forged"},"event":"send"}') as Record<
      string,
      unknown
    >;
    const output = redact(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(Object.keys(output)).toEqual(["__proto__", "event"]);
    expect(JSON.stringify(output)).toBe('{"__proto__":{"component":"forged"},"event":"send"}');
  });

  it("handles cycles", () => {
    const context: Record<string, unknown> = { account: "acme", apiKey: API_KEY };
    context.self = context;
    context.list = [context];
    const output = redact(context) as Record<string, unknown>;
    expect(output.apiKey).toBe(MASKED_API_KEY);
    expect(output.account).toBe("acme");
    expect(() => JSON.stringify(output)).not.toThrow();
  });

  it("shows an object referenced twice, without a cycle, both times", () => {
    const recipient = { email: "a@example.com" };
    expect(redact({ before: recipient, after: recipient })).toEqual({ before: recipient, after: recipient });
  });

  it("does not mutate its input", () => {
    const input = {
      apiKey: API_KEY,
      nested: { password: API_KEY, list: [{ token: API_KEY }] },
      secret: new Secret(API_KEY),
    };
    const before = JSON.stringify({ ...input, secret: input.secret.reveal() });
    redact(input);
    expect(JSON.stringify({ ...input, secret: input.secret.reveal() })).toBe(before);
  });

  it("works on frozen input", () => {
    const input = Object.freeze({ apiKey: API_KEY, nested: Object.freeze({ ok: true }) });
    expect(redact(input)).toEqual({ apiKey: MASKED_API_KEY, nested: { ok: true } });
  });

  it("keeps a secret-named value that is empty or absent as it is", () => {
    expect(redact({ apiKey: "", password: null, token: undefined })).toEqual({
      apiKey: "",
      password: null,
      token: undefined,
    });
  });

  it("keeps an error's class, message, stack, code and cause, with secret-named properties masked", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    const error = Object.assign(new MandrillKitStoreError("ERR_MK_STORE_FAILED", "store down", { cause }), {
      config: { apiKey: API_KEY },
    });
    const copy = redact({ error }) as { error: MandrillKitStoreError & { config: unknown } };
    expect(copy.error).toBeInstanceOf(MandrillKitStoreError);
    expect(copy.error).not.toBe(error);
    expect(copy.error.name).toBe("MandrillKitStoreError");
    expect(copy.error.message).toBe("store down");
    expect(copy.error.code).toBe("ERR_MK_STORE_FAILED");
    expect(copy.error.stack).toBe(error.stack);
    expect(copy.error.config).toEqual({ apiKey: MASKED_API_KEY });
    expect(copy.error.cause).toBeInstanceOf(Error);
    expect(copy.error.cause).toMatchObject({
      message: cause.message,
      code: "ECONNREFUSED",
      stack: cause.stack,
    });
  });

  it("masks secrets written inside error messages, stacks and causes", () => {
    const secret = "hunter2-0123456789abcdef";
    const texts = [
      `connect failed for postgres://app:${secret}@db.internal:5432/mail`,
      `Mandrill said 500 for {"key":"${secret}","message":{}}`,
      `request { apiKey: '${secret}', to: 'a@b.c' } failed`,
      `GET /callback?account=acme&token=${secret} answered 401`,
      `Authorization: Bearer ${secret}`,
      `password=${secret}; retrying`,
    ];
    for (const text of texts) {
      const error = new Error("outer", { cause: new AggregateError([new Error(text)], text) });
      const shown = [
        JSON.stringify(redact({ err: new Error(text) })),
        JSON.stringify(redact({ err: error })),
        inspect(redact({ err: error }), { depth: 10 }),
      ];
      for (const out of shown) {
        expect(out, text).not.toContain(hiddenPart(secret));
        expect(out, text).toContain(maskSecret(secret));
      }
    }
  });

  it("keeps ordinary words next to secret-looking names in messages", () => {
    const text = 'duplicate key value violates unique constraint "suppressions_pkey"; key (account)=(acme)';
    expect((redact(new Error(text)) as Error).message).toBe(text);
  });

  it("bounds an error that is its own cause", () => {
    const error = new Error("loop");
    (error as { cause?: unknown }).cause = error;
    expect((redact(error) as { cause: unknown }).cause).toBe("[circular]");
  });

  it("returns primitives unchanged", () => {
    for (const value of ["text", 1, true, null, undefined]) expect(redact(value)).toBe(value);
  });

  it("stops at a bounded depth without leaking", () => {
    let deep: Record<string, unknown> = { apiKey: API_KEY };
    for (let i = 0; i < 50; i++) deep = { level: deep };
    expect(JSON.stringify(redact(deep))).not.toContain(hiddenPart(API_KEY));
  });
});

describe("componentLogger", () => {
  it("adds the component and account to every entry", () => {
    const { logger, entries } = recordingLogger();
    const log = componentLogger(logger, { component: "webhooks", account: "acme" });
    log.info({ component: "webhooks", events: 3 }, "batch stored");
    log.error({ component: "webhooks" }, "failed");
    expect(entries).toEqual([
      {
        level: "info",
        context: { component: "webhooks", account: "acme", events: 3 },
        message: "batch stored",
      },
      { level: "error", context: { component: "webhooks", account: "acme" }, message: "failed" },
    ]);
  });

  it("writes each level to the same level of the host logger", () => {
    const { logger, entries } = recordingLogger();
    const log = componentLogger(logger, { component: "store" });
    for (const level of ["debug", "info", "warn", "error"] as const)
      log[level]({ component: "store" }, level);
    expect(entries.map((e) => [e.level, e.message])).toEqual([
      ["debug", "debug"],
      ["info", "info"],
      ["warn", "warn"],
      ["error", "error"],
    ]);
  });

  it("redacts secrets before they reach the host logger", () => {
    const { logger, entries } = recordingLogger();
    const log = componentLogger(logger, { component: "credentials", apiKey: API_KEY });
    log.warn(
      { component: "credentials", request: { key: API_KEY, auth: new Secret(API_KEY) } },
      "key rejected",
    );
    expect(JSON.stringify(entries)).not.toContain(hiddenPart(API_KEY));
    expect(entries[0]?.context).toMatchObject({
      component: "credentials",
      request: { key: MASKED_API_KEY, auth: MASKED_API_KEY },
    });
  });

  it("hands pino errors it prints with their type, message, stack and cause", () => {
    const { stream, lines } = memoryStream();
    const log = componentLogger(pino({ base: null, timestamp: false }, stream), { component: "webhooks" });
    const cause = new Error(`connect refused (password=${API_KEY})`);
    const error = new MandrillKitStoreError("ERR_MK_STORE_FAILED", "could not claim inbox events", { cause });
    log.error({ account: "acme", err: error }, "dispatch failed");
    const [line] = lines();
    const err = line?.err as Record<string, unknown>;
    expect(err.type).toBe("MandrillKitStoreError");
    expect(err.code).toBe("ERR_MK_STORE_FAILED");
    expect(err.message).toContain("could not claim inbox events");
    expect(err.stack).toContain("MandrillKitStoreError: could not claim inbox events\n    at ");
    expect(err.stack).toContain("caused by: Error: connect refused");
    expect(JSON.stringify(line)).not.toContain(hiddenPart(API_KEY));
  });

  it("stays silent on the silent logger", () => {
    expect(componentLogger(silentLogger, { component: "x" })).toBe(silentLogger);
  });

  it("builds no context for a level the host logger does not write (isLevelEnabled, as pino has)", () => {
    let read = 0;
    // A field that counts every read: a context being copied or redacted reads it.
    const fields = Object.defineProperty({}, "events", {
      enumerable: true,
      get: () => {
        read++;
        return 3;
      },
    });
    const { stream, lines } = memoryStream();
    const log = componentLogger(pino({ base: null, timestamp: false, level: "warn" }, stream), {
      component: "webhooks",
    });
    log.debug(fields, "batch stored");
    log.info(fields, "batch stored");
    expect(read).toBe(0);
    log.warn(fields, "batch had problems");
    expect(read).toBeGreaterThan(0);
    expect(lines().map((l) => [l.msg, l.events])).toEqual([["batch had problems", 3]]);

    // A logger without isLevelEnabled gets every entry, as before.
    const { logger, entries } = recordingLogger();
    componentLogger(logger, { component: "store" }).debug({}, "kept");
    expect(entries.map((e) => e.message)).toEqual(["kept"]);
  });
});

describe("createConsoleLogger", () => {
  it("writes one JSON line per entry with level, time, message and context", () => {
    const { stream, lines, text } = memoryStream();
    const log = createConsoleLogger({ stream });
    log.info({ component: "sender", account: "acme" }, "sent");
    log.error({ component: "sender", account: "acme", status: 500 }, "failed");
    expect(text().endsWith("\n")).toBe(true);
    expect(lines()).toEqual([
      { level: "info", time: expect.any(String), msg: "sent", component: "sender", account: "acme" },
      {
        level: "error",
        time: expect.any(String),
        msg: "failed",
        component: "sender",
        account: "acme",
        status: 500,
      },
    ]);
    for (const line of lines()) expect(new Date(line.time as string).toISOString()).toBe(line.time);
  });

  it("drops debug entries by default", () => {
    const { stream, lines } = memoryStream();
    const log = createConsoleLogger({ stream });
    log.debug({ component: "x" }, "noise");
    log.info({ component: "x" }, "kept");
    expect(lines().map((l) => l.msg)).toEqual(["kept"]);
  });

  it("says which levels it writes (isLevelEnabled)", () => {
    const log = createConsoleLogger({ level: "warn", stream: memoryStream().stream });
    expect(["debug", "info", "warn", "error"].map((l) => log.isLevelEnabled?.(l as "warn"))).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });

  it.each([
    ["debug", ["debug", "info", "warn", "error"]],
    ["info", ["info", "warn", "error"]],
    ["warn", ["warn", "error"]],
    ["error", ["error"]],
  ] as const)("writes only entries at or above %s", (level, written) => {
    const { stream, lines } = memoryStream();
    const log = createConsoleLogger({ level, stream });
    for (const l of ["debug", "info", "warn", "error"] as const) log[l]({ component: "x" }, l);
    expect(lines().map((l) => l.level)).toEqual(written);
  });

  it("writes an error's name, message, code, stack and cause", () => {
    const { stream, lines } = memoryStream();
    const log = createConsoleLogger({ stream });
    const cause = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    log.error({ component: "sender", err: new Error("send failed", { cause }) }, "failed");
    const err = lines()[0]?.err as Record<string, Record<string, unknown>>;
    expect(err).toMatchObject({ name: "Error", message: "send failed" });
    expect(err.stack).toMatch(/^Error: send failed\n {4}at /);
    expect(err.cause).toMatchObject({ name: "Error", message: "socket hang up", code: "ECONNRESET" });
    expect(err.cause?.stack).toMatch(/^Error: socket hang up\n {4}at /);
  });

  it("never writes secrets", () => {
    const { stream, text } = memoryStream();
    const log = createConsoleLogger({ level: "debug", stream });
    log.debug(
      { component: "credentials", apiKey: API_KEY, nested: { password: API_KEY }, s: new Secret(API_KEY) },
      "loaded",
    );
    expect(text()).not.toContain(hiddenPart(API_KEY));
    expect(text()).toContain(MASKED_API_KEY);
  });
});
