import { createServer } from "node:net";
import {
  createMemoryStore,
  type NetworkPolicyOptions,
  type SendRecord,
  type Store,
} from "@mandrill-kit/core";
import { addKey, type MandrillKitMiddleware, mandrillKit } from "@mandrill-kit/credentials";
import type { SmtpOptions } from "@mandrill-kit/sender";
import type { ApiLogEntry, Simulator } from "@mandrill-kit/simulator";

/** Public URL of the host app in every test (the Callback URL and unsubscribe links start with it). */
export const PUBLIC_URL = "https://app.example.com";

/** Small timeouts and retry delays, so retries and timeouts take milliseconds. */
export const FAST_API = { retryBaseMs: 5, retryMaxMs: 50, requestTimeoutMs: 300 } as const;

/** A kit context (credentials + store) like a host app mounts it. */
export function newKit(store: Store = createMemoryStore()): MandrillKitMiddleware {
  return mandrillKit({ store, keys: addKey(undefined, "k1"), publicUrl: PUBLIC_URL });
}

/**
 * Sends every account's SMTP to the simulator's STARTTLS port, trusting the simulator's certificate.
 * Its SAN lists 127.0.0.1, so the certificate verifies against the IP without a `servername`.
 */
export function simulatorRoute(sim: Simulator): NonNullable<SmtpOptions["route"]> {
  return () => ({ host: sim.smtp.host, port: sim.smtp.port ?? 0, secure: false, tls: { ca: sim.smtp.ca } });
}

let counter = 0;

/** A fresh address per use: the simulator's denylist and the store outlive single tests. */
export function uniqueEmail(tag: string, domain = "example.org"): string {
  counter += 1;
  return `${tag}-${process.pid}-${counter}@${domain}`;
}

/** Freezes an object graph so any mutation throws (ES modules are strict). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

/** A TCP port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export { eventually } from "@mandrill-kit/core/testing";

/** The simulator's API log entries for one method over HTTP (SMTP submissions excluded). */
export function apiCalls(sim: Simulator, method: string): ApiLogEntry[] {
  return sim.inspect.apiLog().filter((e) => e.transport === "api" && e.method === method);
}

/**
 * Every recorded send of an address for an account, oldest first, once `sender` has written the
 * records of the sends it has answered (they are written just after, grouped).
 */
export async function sendsOf(
  sender: { flush(): Promise<void> },
  store: Store,
  account: string,
  email: string,
): Promise<SendRecord[]> {
  await sender.flush();
  const page = await store.sends.list(account, { email, limit: 1000 });
  return [...page.items].reverse();
}

/** Every address the simulator's outbox holds, over all messages. */
export function outboxRecipients(sim: Simulator): string[] {
  return sim.inspect.outbox().flatMap((m) => m.recipients.map((r) => r.email));
}

/**
 * The operator's opt-out every test against the local simulator needs: the sender refuses loopback
 * addresses by default (tenant settings must not reach the host's network).
 */
export const LOCAL_NETWORK = { allow: ["127.0.0.1"] } as const satisfies NetworkPolicyOptions;
