const GENERATE = `  mandrill-kit keys generate [--kid ID] [--add-to FILE] [--out FILE]
      Print a JWK Set with a new 256-bit key first (the active one). With --add-to, the keys of
      that set follow it (they keep decrypting until a rotation has finished). With --out, write
      the set to FILE (mode 0600) instead of printing it.
`;

const ROTATE = `  mandrill-kit keys rotate (--database FILE | --database-url URL [--schema NAME])
                          [--keys-file FILE | --keys-env NAME] [--active-kid ID]
      Re-encrypt every stored secret under the active key (the first of the set, or --active-kid).
      Safe to interrupt and run again: it resumes where it stopped. It never creates or migrates a
      database: the store must exist and be current.
      The store: a SQLite file (--database), or PostgreSQL (--database-url, or the URL in
      MANDRILL_KIT_DATABASE_URL, which keeps a password out of the process list; --schema names
      the schema, default mandrill_kit).
      The keys: --keys-file, or the environment variable named by --keys-env (default
      MANDRILL_KIT_KEYS).
`;

const ENVIRONMENT = `Environment:
  MANDRILL_KIT_KEYS           the key set of keys rotate, unless --keys-file or --keys-env is given
  MANDRILL_KIT_DATABASE_URL   the PostgreSQL URL of keys rotate, unless --database or --database-url is given
`;

const TITLE = "mandrill-kit — maintenance commands for mandrill-kit\n\n";

/** Everything `mandrill-kit help` prints. */
export const USAGE = `${TITLE}Usage:
${GENERATE}
${ROTATE}
  mandrill-kit help [keys [generate|rotate]]
      Print this help (also: --help or -h after any command).

${ENVIRONMENT}`;

/** The help of one command, or of the `keys` group. */
export function usageOf(command: "keys" | "generate" | "rotate"): string {
  if (command === "generate") return `${TITLE}Usage:\n${GENERATE}`;
  if (command === "rotate") return `${TITLE}Usage:\n${ROTATE}\n${ENVIRONMENT}`;
  return `${TITLE}Usage:\n${GENERATE}\n${ROTATE}\n${ENVIRONMENT}`;
}

/** The name of the environment variable that names the PostgreSQL database of `keys rotate`. */
export const DATABASE_URL_ENV = "MANDRILL_KIT_DATABASE_URL";

/** The environment variable that holds the key set, unless `--keys-env` names another. */
export const KEYS_ENV = "MANDRILL_KIT_KEYS";
