import { isIP } from "node:net";
import { generate } from "selfsigned";

/**
 * A self-signed certificate for the SMTP server, generated in pure JavaScript at start: EC P-256,
 * valid from a day ago for a year, for `localhost`, `127.0.0.1`, `::1` and `host`. Clients verify it
 * by trusting the certificate itself (`sim.smtp.ca`).
 */
export async function generateCertificate(host: string): Promise<{ key: string; cert: string }> {
  const names = new Set(["localhost", "127.0.0.1", "::1", host]);
  const altNames = [...names].map((name) =>
    isIP(name) === 0 ? { type: 2 as const, value: name } : { type: 7 as const, ip: name },
  );
  const notBefore = new Date(Date.now() - 24 * 60 * 60 * 1000);
  const notAfter = new Date(notBefore.getTime() + 366 * 24 * 60 * 60 * 1000);
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
