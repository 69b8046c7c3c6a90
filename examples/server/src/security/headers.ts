import type { RequestHandler } from "express";
import helmet from "helmet";

/**
 * helmet with a strict Content-Security-Policy: scripts and styles only from this origin (no inline
 * script, style or event handler), no framing, forms posting only here; HSTS and
 * `upgrade-insecure-requests` when the public URL is https.
 */
export function securityHeaders(https: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: https,
    referrerPolicy: { policy: "same-origin" },
  });
}
