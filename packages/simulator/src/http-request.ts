import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { MandrillKitTransportError } from "@mandrill-kit/core";

/** The answer to a webhook request. */
export interface HttpAnswer {
  status: number;
  body: string;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * One HTTP request without connection reuse (Mandrill's webhook requests carry `Connection: close`,
 * docs/mandrill.md#webhook-wire-format). Rejects on network errors and after `timeoutMs`; reads at most 64 KiB of the answer.
 */
export function sendHttp(
  url: URL,
  init: { method: "HEAD" | "POST"; headers: Record<string, string>; body?: string; timeoutMs: number },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(url, { method: init.method, headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (size < MAX_RESPONSE_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString("utf8"),
        });
      });
      res.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new MandrillKitTransportError(`timed out after ${init.timeoutMs} ms`, false));
    }, init.timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(init.body);
  });
}
