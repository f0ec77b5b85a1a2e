#!/usr/bin/env node
// `swanlab` CLI: login, logout, verify, sync. User errors print one line and exit 1 (no stack traces).
import { parseArgs } from "node:util";
import { createClient, HttpError, NetworkError, SDK_VERSION } from "./http.js";
import { netrcPath, readNetrc, removeNetrc, writeNetrc } from "./netrc.js";
import { normalizeHost, resolveCredentials, UserError, DEFAULT_HOST } from "./settings.js";
import { findRunDirs, syncRunDir } from "./sync.js";

const HELP = `swanlab ${SDK_VERSION}: log experiments to a Swanhouse (or SwanLab) server

Usage:
  swanlab login [--host URL] [--api-key KEY] [--relogin]
      Store an API key for a server in ${"$"}HOME/.swanlab/.netrc. Without --api-key the key is read
      hidden from the terminal, or from stdin when it is not a terminal.
  swanlab logout          Forget the stored key.
  swanlab verify          Check the stored key; prints the user and the host.
  swanlab sync DIR...     Upload offline runs (a run folder such as swanlog/<id>, or swanlog itself).
                          Safe to repeat: it resumes where it stopped and never duplicates data.
  swanlab --help | --version

Environment: SWANLAB_HOST and SWANLAB_API_KEY override the stored login; SWANLAB_SAVE_DIR moves
${"$"}HOME/.swanlab; SWANLAB_MODE=offline|disabled; SWANLAB_LOG_DIR (default ./swanlog).
Default host: ${DEFAULT_HOST}.`;

async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8").split(/\r?\n/).find((l) => l.trim())?.trim() ?? "";
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          done();
          process.stderr.write("\n");
          return resolve(value.trim());
        }
        if (ch === "\u0003") {
          done();
          process.stderr.write("\n");
          return reject(new UserError("cancelled"));
        }
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    const done = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on("data", onData);
  });
}

/** GET /auth/me with the key; turns every failure into a one-line UserError. */
async function whoAmI(host: string, apiKey: string): Promise<string> {
  try {
    const me = await createClient({ host, apiKey, timeoutMs: 15_000 }).me();
    return me.user.username;
  } catch (err) {
    if (err instanceof HttpError && (err.status === 401 || err.status === 403)) throw new UserError(`API key rejected by ${host}`);
    if (err instanceof HttpError && err.status === 404) throw new UserError(`${host} does not look like a Swanhouse server (no /api/v1/auth/me)`);
    if (err instanceof NetworkError) throw new UserError(`${err.message}. Check the address (--host or SWANLAB_HOST).`);
    if (err instanceof HttpError) throw new UserError(`${host} answered ${err.message}`);
    throw err;
  }
}

async function login(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { host: { type: "string", short: "h" }, "api-key": { type: "string", short: "k" }, relogin: { type: "boolean", short: "r" }, help: { type: "boolean" } },
  });
  if (values.help) return void console.log(HELP);
  const stored = readNetrc()[0];
  const host = normalizeHost(values.host ?? process.env.SWANLAB_HOST ?? stored?.machine ?? DEFAULT_HOST);
  if (stored && !values.relogin) {
    const same = safeNormalize(stored.machine) === host;
    console.log(
      same
        ? `You are already logged in to ${stored.machine}. Use --relogin to log in again.`
        : `You are already logged in to ${stored.machine}. Use --relogin to log in to ${host} instead.`,
    );
    return;
  }
  let key = values["api-key"] ?? process.env.SWANLAB_API_KEY;
  if (!key) {
    console.error(`You can find your API key at: ${host}/settings`);
    key = await readSecret("Paste an API key from your settings (hidden): ");
  }
  key = key.trim();
  if (!key) throw new UserError("no API key given");
  if (/\s/.test(key)) throw new UserError("an API key has no spaces");
  const username = await whoAmI(host, key);
  const file = writeNetrc({ machine: host, login: host, password: key });
  console.log(`Logged in as ${username} to ${host} (key saved in ${file}).`);
}

function safeNormalize(h: string): string | undefined {
  try {
    return normalizeHost(h);
  } catch {
    return undefined;
  }
}

async function verify(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { host: { type: "string", short: "h" } } });
  const creds = resolveCredentials({ host: values.host });
  if (!creds.apiKey) throw new UserError(`not logged in to ${creds.host}: run \`swanlab login\` or set SWANLAB_API_KEY`);
  const username = await whoAmI(creds.host, creds.apiKey);
  console.log(`Logged in as ${username} to ${creds.host} (key from ${creds.source === "env" ? "SWANLAB_API_KEY" : creds.source === "netrc" ? netrcPath() : "--api-key"}).`);
}

function logout(): void {
  const stored = readNetrc()[0];
  if (!removeNetrc()) return void console.log("You are not logged in.");
  console.log(`Logged out of ${stored?.machine ?? "the server"} (removed ${netrcPath()}).`);
}

async function sync(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { host: { type: "string", short: "h" }, "api-key": { type: "string", short: "k" }, "timeout-seconds": { type: "string" } },
  });
  if (!positionals.length) throw new UserError("usage: swanlab sync DIR... (a run folder such as swanlog/<id>, or swanlog)");
  const dirs = findRunDirs(positionals);
  const timeoutMs = values["timeout-seconds"] ? Number(values["timeout-seconds"]) * 1000 : undefined;
  let failed = 0;
  for (const dir of dirs) {
    try {
      const r = await syncRunDir(dir, { host: values.host, apiKey: values["api-key"], timeoutMs, warn: (m) => console.error(`swanlab: ${m}`) });
      console.log(r.alreadySynced ? `${r.id}: already synced to ${r.host}` : `${r.id}: synced ${r.entries} entries to ${r.url}`);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      failed++;
      console.error(`swanlab: ${err.message}`);
    }
  }
  if (failed) process.exitCode = 1;
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case "--help":
    case "-h":
    case "help":
      return void console.log(HELP);
    case "--version":
    case "-v":
      return void console.log(SDK_VERSION);
    case "login":
      return login(rest);
    case "logout":
      return logout();
    case "verify":
      return verify(rest);
    case "sync":
      return sync(rest);
    default:
      throw new UserError(`unknown command '${cmd}' (see swanlab --help)`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // parseArgs errors (unknown option, missing value) are user errors too.
  const code = (err as { code?: string }).code ?? "";
  if (err instanceof UserError || code.startsWith("ERR_PARSE_ARGS")) {
    console.error(`swanlab: ${(err as Error).message}`);
    process.exit(1);
  }
  console.error(err);
  process.exit(2);
});
