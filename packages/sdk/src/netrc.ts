// ~/.swanlab/.netrc, the credential file the official SwanLab SDK also reads: one entry,
// `machine` = API host (no /api), `login` = web host, `password` = API key; mode 0600.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export type NetrcEntry = { machine: string; login: string; password: string };

/** The folder holding `.netrc`: SWANLAB_SAVE_DIR (the official SDK's name), else `$HOME/.swanlab`. */
export function saveDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SWANLAB_SAVE_DIR) return path.resolve(env.SWANLAB_SAVE_DIR);
  return path.join(env.HOME || os.homedir(), ".swanlab");
}
export const netrcPath = (env: NodeJS.ProcessEnv = process.env) => path.join(saveDir(env), ".netrc");

/** Tokens are whitespace-separated; `machine`/`default` start an entry (standard netrc grammar). */
export function parseNetrc(text: string): NetrcEntry[] {
  const tokens = text.split(/\s+/).filter(Boolean);
  const out: NetrcEntry[] = [];
  let cur: Partial<NetrcEntry> | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "machine") {
      if (cur?.machine) out.push({ machine: cur.machine, login: cur.login ?? "", password: cur.password ?? "" });
      cur = { machine: tokens[++i] ?? "" };
    } else if (t === "default") {
      if (cur?.machine) out.push({ machine: cur.machine, login: cur.login ?? "", password: cur.password ?? "" });
      cur = null;
    } else if (cur && (t === "login" || t === "password" || t === "account")) {
      const v = tokens[++i] ?? "";
      if (t === "login") cur.login = v;
      if (t === "password") cur.password = v;
    }
  }
  if (cur?.machine) out.push({ machine: cur.machine, login: cur.login ?? "", password: cur.password ?? "" });
  // Files written by old SDKs keep `/api` on the machine; the host is what matters.
  return out.map((e) => ({ ...e, machine: e.machine.replace(/\/api\/?$/, "") }));
}

export function readNetrc(env: NodeJS.ProcessEnv = process.env): NetrcEntry[] {
  try {
    return parseNetrc(fs.readFileSync(netrcPath(env), "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Single sign-on, as the official SDK: writing replaces every other entry. */
export function writeNetrc(entry: NetrcEntry, env: NodeJS.ProcessEnv = process.env): string {
  const file = netrcPath(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `machine ${entry.machine}\n\tlogin ${entry.login}\n\tpassword ${entry.password}\n`, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return file;
}

export function removeNetrc(env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    fs.unlinkSync(netrcPath(env));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
