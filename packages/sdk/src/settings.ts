// Where to send and with which key: arguments, then SWANLAB_HOST / SWANLAB_API_KEY, then the netrc.
import { readNetrc } from "./netrc.js";

export const DEFAULT_HOST = "http://localhost:8000";

export class UserError extends Error {
  override name = "UserError";
}

/**
 * Keeps scheme, host and port only (`http://h:8000/api/` → `http://h:8000`), as the official SDK does.
 * Without a scheme: http for localhost and IP addresses, https otherwise.
 */
export function normalizeHost(input: string): string {
  let s = input.trim();
  if (!s) throw new UserError("the host is empty");
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    const bare = s.split(/[/:]/)[0] ?? "";
    const local = bare === "localhost" || /^\d+\.\d+\.\d+\.\d+$/.test(bare) || s.startsWith("[");
    s = `${local ? "http" : "https"}://${s}`;
  }
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new UserError(`invalid host '${input}': use a URL such as http://localhost:8000`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UserError(`invalid host '${input}': only http and https are supported`);
  return `${u.protocol}//${u.host}`;
}

export type Credentials = { host: string; apiKey: string | undefined; source: "argument" | "env" | "netrc" | "none" };

/** The key is only taken from a netrc entry for the same host, so a key never travels to another server. */
export function resolveCredentials(opts: { host?: string; apiKey?: string } = {}, env: NodeJS.ProcessEnv = process.env): Credentials {
  const entries = readNetrc(env);
  const host = normalizeHost(opts.host ?? env.SWANLAB_HOST ?? entries[0]?.machine ?? DEFAULT_HOST);
  if (opts.apiKey) return { host, apiKey: opts.apiKey, source: "argument" };
  if (env.SWANLAB_API_KEY) return { host, apiKey: env.SWANLAB_API_KEY, source: "env" };
  const entry = entries.find((e) => safeHost(e.machine) === host);
  return entry ? { host, apiKey: entry.password, source: "netrc" } : { host, apiKey: undefined, source: "none" };
}

function safeHost(h: string): string | undefined {
  try {
    return normalizeHost(h);
  } catch {
    return undefined;
  }
}
