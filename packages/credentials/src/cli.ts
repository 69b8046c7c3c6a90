import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { isMandrillKitError } from "@mandrill-kit/core";
import { rotateCommand } from "./cli-rotate.js";
import { USAGE, usageOf } from "./cli-usage.js";
import { addKey } from "./key-ring.js";

/** What the CLI writes to and reads the environment from; injectable for tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
}

const HELP = new Set(["help", "--help", "-h"]);
const KEY_COMMANDS = new Set(["generate", "rotate"]);

/** `mandrill-kit keys generate`: resolves to the exit code. */
function generateCommand(args: readonly string[], io: CliIo): number {
  const { values } = parseArgs({
    args: [...args],
    options: { kid: { type: "string" }, "add-to": { type: "string" }, out: { type: "string" } },
    strict: true,
  });
  const existing = values["add-to"] === undefined ? undefined : readFileSync(values["add-to"], "utf8");
  const set = addKey(existing, values.kid);
  const text = `${JSON.stringify(set, null, 2)}\n`;
  if (values.out === undefined) {
    io.out(text);
    return 0;
  }
  writeFileSync(values.out, text, { mode: 0o600 });
  // The mode option only applies when the file is created: an existing file must become private too.
  chmodSync(values.out, 0o600);
  io.err(
    `Wrote a key set with ${set.keys.length} key(s) to ${values.out}; the active key is "${set.keys[0]?.kid}".\n`,
  );
  return 0;
}

/** The help asked for by `argv`, if it asks for help: `help [keys [cmd]]`, or `--help`/`-h` after a command. */
function helpFor(argv: readonly string[]): string | undefined {
  const [first, second, third] = argv;
  if (first !== undefined && HELP.has(first)) {
    if (second !== "keys") return USAGE;
    return third === "generate" || third === "rotate" ? usageOf(third) : usageOf("keys");
  }
  if (first !== "keys" || second === undefined) return undefined;
  if (HELP.has(second)) return usageOf("keys");
  if (KEY_COMMANDS.has(second) && argv.slice(2).some((a) => a === "--help" || a === "-h")) {
    return usageOf(second as "generate" | "rotate");
  }
  return undefined;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const help = helpFor(argv);
  if (help !== undefined) {
    io.out(help);
    return 0;
  }
  const [group, command, ...rest] = argv;
  if (group === undefined) {
    io.err(USAGE);
    return 2;
  }
  try {
    if (group === "keys" && command === "generate") return generateCommand(rest, io);
    if (group === "keys" && command === "rotate") return await rotateCommand(rest, io);
    io.err(`Unknown command "${argv.join(" ").slice(0, 80)}".\n\n${USAGE}`);
    return 2;
  } catch (error) {
    if (String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS")) {
      // A mistyped option is a usage error, like an unknown command.
      io.err(`${(error as Error).message}\n\n${usageOf(command as "generate" | "rotate")}`);
      return 2;
    }
    io.err(
      `${isMandrillKitError(error) ? `${error.code}: ` : ""}${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
}
