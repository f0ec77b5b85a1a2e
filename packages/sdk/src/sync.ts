// `swanlab sync`: uploads run folders (offline runs, or cloud runs whose spool did not drain). Resumable
// and idempotent: it starts at the folder's ack offset, and the server ignores anything already there.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClient } from "./http.js";
import { resolveCredentials, UserError } from "./settings.js";
import { Spool } from "./spool.js";
import { Sender } from "./sender.js";
import { runUrl } from "./http.js";

export type SyncResult = { dir: string; id: string; host: string; url: string; entries: number; alreadySynced: boolean; finished: boolean };

/** Run folders under each path: the path itself when it holds run.json, else its direct subfolders. */
export function findRunDirs(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const dir = path.resolve(p);
    if (!fs.existsSync(dir)) throw new UserError(`${p}: no such folder`);
    if (Spool.exists(dir)) {
      out.push(dir);
      continue;
    }
    const subs = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && Spool.exists(path.join(dir, d.name)));
    if (!subs.length) throw new UserError(`${p}: not a run folder (no run.json) and holds none`);
    out.push(...subs.map((d) => path.join(dir, d.name)).sort());
  }
  return out;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Uploads one run folder. Gives up after `timeoutMs` of failed delivery (the next sync continues where
 * this one stopped). A run whose process ended without finishing is marked crashed.
 */
export async function syncRunDir(
  dir: string,
  opts: { host?: string; apiKey?: string; timeoutMs?: number; warn?: (m: string) => void } = {},
): Promise<SyncResult> {
  const spool = new Spool(dir);
  const run = spool.readRun();
  if (run.hostname === os.hostname() && run.pid !== process.pid && processAlive(run.pid) && !hasFinish(spool)) {
    throw new UserError(`${dir}: run '${run.id}' is still being logged by process ${run.pid}; sync it after that process ends`);
  }
  const creds = resolveCredentials({ host: opts.host ?? (process.env.SWANLAB_HOST ? undefined : run.host || undefined), apiKey: opts.apiKey });
  if (!creds.apiKey) throw new UserError(`not logged in to ${creds.host}: run \`swanlab login --host ${creds.host}\` or set SWANLAB_API_KEY`);
  const before = spool.readAck();
  const size = spool.flushedSize;
  const url = (ws: string | undefined) => runUrl(creds.host, ws ?? run.create.workspace, run.create.project, run.id);
  if (before >= size) return { dir, id: run.id, host: creds.host, url: url(undefined), entries: 0, alreadySynced: true, finished: hasFinish(spool) };

  spool.openForAppend();
  if (!hasFinish(spool)) spool.append({ t: "f", state: "crashed" });
  spool.close();
  const abort = new AbortController();
  const client = createClient({ host: creds.host, apiKey: creds.apiKey, signal: abort.signal });
  // A wrong key or host is a user error: say it once, before any retry loop.
  await client.me().catch((err) => {
    throw new UserError((err as { status?: number }).status === 401 ? `API key rejected by ${creds.host}` : (err as Error).message);
  });
  const sender = new Sender({ spool, client, runId: run.id, create: run.create, abort, warn: opts.warn });
  const ok = await sender.drain(opts.timeoutMs ?? 120_000);
  if (!ok) {
    throw new UserError(
      `${dir}: ${sender.fatalError ?? `${creds.host} did not take the data in time`}; ${sender.stats.sentEntries} entries sent, run \`swanlab sync\` again to continue`,
    );
  }
  return { dir, id: run.id, host: creds.host, url: url(sender.workspace), entries: sender.stats.sentEntries, alreadySynced: false, finished: true };
}

function hasFinish(spool: Spool): boolean {
  for (const r of spool.records(0)) if (r.t === "f") return true;
  return false;
}
