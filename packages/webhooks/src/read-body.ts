import type { IncomingMessage } from "node:http";
import { FormBodyError } from "./errors.js";

/** Limits of {@link readRawBody}. */
export interface ReadBodyLimits {
  /** Largest body accepted (413 beyond it, checked on Content-Length first). */
  limitBytes: number;
  /** Deadline for the whole body, from the first read (408 after it): a trickled body is cut off. */
  timeoutMs: number;
}

/**
 * Reads the raw body within `limits`. On a refusal the rest of the body is discarded; the caller
 * answers with `Connection: close` (see `closeConnection` on the reply) so a client that keeps
 * sending cannot hold the socket. `into(size)` may give the memory to gather a body of `size` bytes
 * in (exactly `size` long; the parse pool's recycled buffers): otherwise it is new memory.
 */
export function readRawBody(
  req: IncomingMessage,
  limits: ReadBodyLimits,
  into?: (size: number) => Buffer | undefined,
): Promise<Buffer> {
  const { limitBytes, timeoutMs } = limits;
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    return Promise.reject(
      new FormBodyError(413, `The body is ${declared} bytes; the limit is ${limitBytes}.`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: Error | undefined, body?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (error !== undefined) {
        req.resume();
        reject(error);
      } else resolve(body as Buffer);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes)
        finish(new FormBodyError(413, `The body is larger than the limit of ${limitBytes} bytes.`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, gather(chunks, size, into?.(size)));
    const onError = (error: Error) => finish(error);
    const onAborted = () => finish(new FormBodyError(400, "The client aborted the request."));
    const deadline = setTimeout(
      () => finish(new FormBodyError(408, `The body was not received within ${timeoutMs} ms.`)),
      timeoutMs,
    );
    deadline.unref();
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}

/** The chunks as one buffer: copied into `target` when given (its length is `size`), else new memory. */
function gather(chunks: readonly Buffer[], size: number, target: Buffer | undefined): Buffer {
  if (target === undefined || target.length !== size) return Buffer.concat(chunks, size);
  let at = 0;
  for (const chunk of chunks) at += chunk.copy(target, at);
  return target;
}
