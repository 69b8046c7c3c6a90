import { DEMO_KEYS, type Simulator, startSimulator } from "@mandrill-kit/simulator";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { callApi, formOf, type Receiver, referenceSignature, startReceiver } from "./helpers.js";

const KEY = DEMO_KEYS.valid;
let sim: Simulator | undefined;
let receiver: Receiver;

beforeEach(async () => {
  receiver = await startReceiver();
});

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await receiver.close();
});

describe("the independent reference implementation (docs/mandrill.md#signature-reference-implementation)", () => {
  it("reproduces the literal vectors 12 and 9 of docs/mandrill.md#signature-test-vectors", () => {
    expect(referenceSignature("test-webhook", "http://localhost/", { mandrill_events: "[]" })).toBe(
      "QANhYzyeonX51wyzKImgnLZ27CE=",
    );
    const v9 =
      '[{"ts":1365109999,"event":"send","msg":{"ts":1365109999,"subject":"Foo bar","email":"foo@example.com","sender":"bar@example.com","tags":["my_tag_1","my_tag_2"],"smtp_events":null,"opens":null,"clicks":null,"state":"sent","metadata":{"mandrill-var-1":"foo","mandrill-var-2":"bar"},"_id":"7761636","_version":"123","subaccount":null,"diag":null,"bounce_description":null,"template":null}}]';
    expect(
      referenceSignature("key-0p6mqbf74lb20gzq9f4dhpn9rg3zyk26", "http://localhost/", {
        mandrill_events: v9,
      }),
    ).toBe("XecBI/LQPX3del+xEppj7AcoIVY=");
    expect(
      referenceSignature("sim-webhook-key-123", "https://hooks.example.com/mandrill", {
        mandrill_events: "[]",
        a_extra: "1",
      }),
    ).toBe("xGU8+ObkGpZ4GDoy2mHkucfb4DM=");
  });
});

describe("the simulator's webhook signatures", () => {
  it("signs its validation POST exactly like Mandrill: vector 12 for http://localhost/", async () => {
    // Registered as http://localhost/ (what is signed), delivered to the loopback receiver.
    sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0, webhookTarget: () => receiver.url });
    receiver.respond((r) => (r.method === "HEAD" ? 404 : 200));
    const res = await callApi(sim.apiUrl, "webhooks/add", {
      key: KEY,
      url: "http://localhost/",
      events: ["send"],
    });
    expect(res.status).toBe(200);
    const [post] = receiver.posts();
    expect(post?.headers["x-mandrill-signature"]).toBe("QANhYzyeonX51wyzKImgnLZ27CE=");
    expect(post?.body).toBe("mandrill_events=%5B%5D");
  });

  it("signs event batches so that the independent implementation verifies them against the registered URL", async () => {
    sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0 });
    const url = `${receiver.url}?account=acme&x=1`;
    const hook = (await callApi(sim.apiUrl, "webhooks/add", { key: KEY, url, events: ["send", "click"] }))
      .body as {
      auth_key: string;
    };
    const [item] = (
      await callApi(sim.apiUrl, "messages/send", {
        key: KEY,
        message: { from_email: "a@example.com", subject: "Café ✓ / test", to: [{ email: "b@example.org" }] },
      })
    ).body as Array<{ _id: string }>;
    sim.control.emit(item?._id as string, "click", { url: "https://example.com/a?b=1" });
    await sim.control.flushWebhooks();
    const posts = receiver.posts();
    expect(posts.length).toBeGreaterThan(0);
    for (const post of posts) {
      expect(post.url).toBe("/hooks/mandrill?account=acme&x=1");
      expect(post.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(post.headers["user-agent"]).toBe("Mandrill-Webhook/1.0");
      const form = formOf(post.body);
      expect(Object.keys(form)).toEqual(["mandrill_events"]);
      expect(post.headers["x-mandrill-signature"]).toBe(referenceSignature(hook.auth_key, url, form));
      // The registered URL is what is signed: the same body does not verify for the URL without its query.
      expect(post.headers["x-mandrill-signature"]).not.toBe(
        referenceSignature(hook.auth_key, receiver.url, form),
      );
    }
    const all = posts.map((p) => formOf(p.body).mandrill_events ?? "").join("");
    // PHP-style JSON (docs/mandrill.md#webhook-wire-format): slashes escaped, non-ASCII as \uXXXX.
    expect(all).toContain('"url":"https:\\/\\/example.com\\/a?b=1"');
    expect(all).toContain('"subject":"Caf\\u00e9 \\u2713 \\/ test"');
    expect(all).not.toContain("é");
  });

  it("verifies for any subject, tags and metadata (property)", async () => {
    sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0 });
    const hook = (
      await callApi(sim.apiUrl, "webhooks/add", { key: KEY, url: receiver.url, events: ["send"] })
    ).body as {
      auth_key: string;
    };
    const s = sim;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme", maxLength: 60 }),
        fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), { maxLength: 3 }),
        fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), fc.string({ maxLength: 20 }), {
          maxKeys: 3,
        }),
        async (subject, tags, metadata) => {
          const before = receiver.posts().length;
          await callApi(s.apiUrl, "messages/send", {
            key: KEY,
            message: {
              from_email: "a@example.com",
              subject,
              tags,
              metadata,
              to: [{ email: "p@example.org" }],
            },
          });
          await s.control.flushWebhooks();
          const post = receiver.posts()[before];
          const form = formOf(post?.body ?? "");
          expect(post?.headers["x-mandrill-signature"]).toBe(
            referenceSignature(hook.auth_key, receiver.url, form),
          );
          const [event] = JSON.parse(form.mandrill_events ?? "[]") as Array<{
            msg: { subject: string; metadata: unknown };
          }>;
          expect(event?.msg.subject).toBe(subject);
          expect(event?.msg.metadata).toEqual(metadata);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("signs with the new key after a key reset", async () => {
    sim = await startSimulator({ smtpPort: false, flushIntervalMs: 0 });
    const hook = (
      await callApi(sim.apiUrl, "webhooks/add", { key: KEY, url: receiver.url, events: ["send"] })
    ).body as {
      id: number;
      auth_key: string;
    };
    const fresh = sim.control.resetWebhookKey(hook.id);
    expect(fresh).not.toBe(hook.auth_key);
    await callApi(sim.apiUrl, "messages/send", {
      key: KEY,
      message: { from_email: "a@example.com", to: [{ email: "p@example.org" }] },
    });
    await sim.control.flushWebhooks();
    const [post] = receiver.posts();
    expect(post?.headers["x-mandrill-signature"]).toBe(
      referenceSignature(fresh, receiver.url, formOf(post?.body ?? "")),
    );
  });
});
