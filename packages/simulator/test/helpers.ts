import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Independent implementation of docs/mandrill.md#signature-reference-implementation (the Python reference, transcribed): HMAC-SHA1 keyed with
 * the webhook key over the URL followed by each form field's name and value, sorted by name; base64.
 * Deliberately shares no code with the kit's `mandrillSignature`.
 */
export function referenceSignature(key: string, url: string, form: Record<string, string>): string {
  const signed =
    url +
    Object.keys(form)
      .sort()
      .map((k) => k + form[k])
      .join("");
  return createHmac("sha1", Buffer.from(key, "utf8")).update(Buffer.from(signed, "utf8")).digest("base64");
}

/** A request a {@link Receiver} got. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A loopback HTTP server standing in for a webhook receiver. */
export interface Receiver {
  /** `http://127.0.0.1:PORT/hooks/mandrill` */
  url: string;
  requests: ReceivedRequest[];
  /** Requests with method POST. */
  posts(): ReceivedRequest[];
  /** Decides each answer: a status, or `"hang"` to never answer. Default 200 for everything. */
  respond(fn: (req: ReceivedRequest) => number | "hang"): void;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 with a free port. */
export async function startReceiver(path = "/hooks/mandrill"): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let decide: (req: ReceivedRequest) => number | "hang" = () => 200;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const received = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(received);
      const status = decide(received);
      if (status === "hang") return;
      res.writeHead(status, { "Content-Type": "text/plain" }).end(status === 200 ? "ok" : `status ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    posts: () => requests.filter((r) => r.method === "POST"),
    respond(fn) {
      decide = fn;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The decoded form fields of a webhook POST body. */
export function formOf(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

/** Calls the simulator's API like a plain HTTP client; returns status, headers and parsed body. */
export async function callApi(
  apiUrl: string,
  method: string,
  body: unknown,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(`${apiUrl}${method}.json`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export { eventually } from "@mandrill-kit/core/testing";
