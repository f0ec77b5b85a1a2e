// init() → Run: log / config.update / finish. Every record goes to the run folder's spool first; in
// cloud mode a background Sender delivers it (see sender.ts), offline runs wait for `swanlab sync`.
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { MetricKey, Name, RunId, Step, toWireValue, type CreateRunBody, type JsonObject } from "@swanhouse/contracts";
import { createClient, HttpError, NetworkError, runUrl, type Client } from "./http.js";
import { resolveCredentials, UserError } from "./settings.js";
import { Spool, type FinalState, type RunFile } from "./spool.js";
import { Sender } from "./sender.js";
import { Text } from "./text.js";
import { collectMetadata } from "./metadata.js";
import { startSampler } from "./sampler.js";
import { registerRun, unregisterRun } from "./hooks.js";

export type Mode = "cloud" | "offline" | "disabled";
export type LogValue = number | Text | Text[];

export type InitOptions = {
  project: string;
  name?: string;
  description?: string;
  config?: Record<string, unknown>;
  tags?: string[];
  /** Workspace (user or team name); defaults to the key owner's. */
  workspace?: string;
  /** Your own run id (letters, digits, '_' and '-'); needed to resume. */
  id?: string;
  /** With `id`: continue that run if it exists (`true`/"allow") or fail if it does not ("must"). */
  resume?: boolean | "allow" | "must" | "never";
  host?: string;
  apiKey?: string;
  /** cloud (default, or SWANLAB_MODE), offline (./swanlog only, `swanlab sync` later), disabled (no-op). */
  mode?: Mode;
  /** Folder for run folders; default SWANLAB_LOG_DIR or ./swanlog. */
  logDir?: string;
  /** How long finish() waits for unsent data (default 60 s, SWANLAB_FINISH_TIMEOUT). */
  finishTimeoutSeconds?: number;
  /** Sample CPU, memory and GPU every N seconds as system series (`true` = 10 s). Default off. */
  systemMetrics?: boolean | number;
  /** Finish on exit, abort on SIGINT/SIGTERM, crash on an uncaught error (default true). */
  exitHooks?: boolean;
  /** Collect host/OS/GPU/git metadata at start (default true). */
  metadata?: boolean;
  /** Print progress lines (default true). */
  quiet?: boolean;
};

const LOG_DIR = () => process.env.SWANLAB_LOG_DIR ?? "swanlog";

export const newRunId = () => {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(21), (b) => alphabet[b % 36]).join("");
};

/** The run's config: update() merges keys and sends them. */
export class RunConfig {
  private values: Record<string, unknown>;
  constructor(initial: Record<string, unknown>, private readonly onUpdate: (patch: JsonObject) => void) {
    this.values = { ...initial };
  }
  /** Merges `values` into the config (shallow, like the server) and records the change. */
  update(values: Record<string, unknown>): void {
    const patch = toJson(values) as JsonObject;
    Object.assign(this.values, patch);
    this.onUpdate(patch);
  }
  set(key: string, value: unknown): void {
    this.update({ [key]: value });
  }
  get(key: string): unknown {
    return this.values[key];
  }
  toJSON(): Record<string, unknown> {
    return { ...this.values };
  }
}

/** A run being logged. Create it with init(). */
export class Run {
  readonly config: RunConfig;
  private steps = new Map<string, number>();
  private warned = new Set<string>();
  private goodKeys = new Set<string>();
  private lastSeq = 0;
  private state: "running" | "finishing" | "done" = "running";
  private sampler: { stop: () => void } | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private flusher: NodeJS.Timeout | undefined;
  private finishing: Promise<boolean> | undefined;

  /** @internal use init() */
  constructor(
    readonly id: string,
    readonly project: string,
    readonly mode: Mode,
    readonly dir: string | undefined,
    private readonly spool: Spool | undefined,
    private readonly sender: Sender | undefined,
    private readonly client: Client | undefined,
    config: Record<string, unknown>,
    private readonly opts: { finishTimeoutMs: number; quiet: boolean },
  ) {
    this.config = new RunConfig(config, (patch) => this.spool?.append({ t: "u", b: { config: patch } }));
  }

  /** @internal the workspace, once the server told it */
  workspace: string | undefined;

  /** The dashboard page of the run (cloud runs). */
  get url(): string | undefined {
    return this.client ? runUrl(this.client.host, this.workspace ?? this.sender?.workspace, this.project, this.id) : undefined;
  }

  /**
   * Logs numbers (NaN and ±Infinity included), Text or Text[] under metric keys. Without `step`, each key
   * counts its own steps from 0 (continuing after a resume). Never throws for a bad value: it warns once.
   */
  log(data: Record<string, LogValue>, step?: number): void {
    if (this.state !== "running" || !this.spool) return;
    if (step !== undefined && !Step.safeParse(step).success) {
      this.warnOnce(`step:${step}`, `step ${step} ignored: use an integer from 0 to 2147483647`);
      step = undefined;
    }
    const ts = Date.now();
    let n = 0;
    for (const key in data) {
      const value = data[key];
      if (!this.validKey(key)) continue;
      const s = step ?? this.steps.get(key) ?? 0;
      if (typeof value === "number") {
        this.spool.appendMetric(key, s, toWireValue(value), ts);
        n++;
      } else if (value instanceof Text) {
        this.spool.append(this.textRecord(key, s, 0, value, ts));
        n++;
      } else if (Array.isArray(value) && value.every((v) => v instanceof Text)) {
        if (value.length > MAX_TEXTS) this.warnOnce(`many:${key}`, `'${key}': at most ${MAX_TEXTS} texts a step; the rest are skipped`);
        value.slice(0, MAX_TEXTS).forEach((v, i) => this.spool!.append(this.textRecord(key, s, i, v, ts)));
        n += Math.min(value.length, MAX_TEXTS);
      } else {
        this.warnOnce(`type:${key}`, `'${key}': only numbers, Text and Text[] can be logged (got ${describe(value)}); skipped`);
        continue;
      }
      this.steps.set(key, Math.max(this.steps.get(key) ?? 0, s + 1));
    }
    if (n) this.sender?.noteEntries(n);
  }

  /** Adds a console line to the run (shown in its Logs tab). */
  logMessage(message: string, level: "debug" | "info" | "warning" | "error" = "info"): void {
    if (this.state === "done" || !this.spool) return;
    // Unique per run across resumes without asking the server: microseconds since the epoch, kept increasing.
    this.lastSeq = Math.max(this.lastSeq + 1, Date.now() * 1000);
    this.spool.append({ t: "l", q: this.lastSeq, lv: level, m: message.slice(0, 100_000), ts: Date.now() });
    this.sender?.noteEntries(1);
  }

  /**
   * Marks the run finished (or crashed/aborted) after delivering everything, waiting up to the finish
   * timeout. Resolves true when the server has it all; otherwise says how to `swanlab sync` the rest.
   */
  finish(state: FinalState = "finished"): Promise<boolean> {
    this.finishing ??= this.doFinish(state);
    return this.finishing;
  }

  private async doFinish(state: FinalState): Promise<boolean> {
    if (this.state !== "running") return true;
    this.state = "finishing";
    this.sampler?.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.flusher) clearInterval(this.flusher);
    unregisterRun(this);
    if (!this.spool) {
      this.state = "done";
      return true;
    }
    this.spool.append({ t: "f", state });
    this.spool.flush();
    let ok = true;
    if (this.sender) {
      ok = await this.sender.drain(this.opts.finishTimeoutMs);
      if (!ok) {
        const left = this.spool.flushedSize - this.sender.ackOffset;
        this.print(
          `${this.sender.fatalError ? this.sender.fatalError + "; " : ""}${left} bytes of run '${this.id}' are not on the server yet; ` +
            `they are kept in ${this.dir}. Upload them with:\n  swanlab sync ${this.dir}`,
          true,
        );
      } else this.print(`run '${this.id}' ${state}: ${this.url}`);
    } else {
      this.print(`offline run '${this.id}' ${state}, saved in ${this.dir}. Upload it with:\n  swanlab sync ${this.dir}`);
    }
    this.spool.close();
    this.state = "done";
    return ok;
  }

  /** Synchronous last resort (process 'exit'): writes the finish record so `swanlab sync` can complete it. */
  finishSync(state: FinalState): void {
    if (this.state !== "running" || !this.spool) return;
    this.state = "done";
    this.sampler?.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.flusher) clearInterval(this.flusher);
    this.sender?.stop();
    this.spool.append({ t: "f", state });
    this.spool.close();
  }

  get isRunning(): boolean {
    return this.state === "running";
  }
  get isCloud(): boolean {
    return this.sender !== undefined;
  }
  /** Delivery counters (requests, retries, dropped, sentEntries). */
  get stats() {
    return this.sender?.stats;
  }

  /** @internal */
  startBackground(o: { systemMetricsMs?: number; metadata: boolean; secrets: Array<string | undefined> }): void {
    this.sender?.start();
    // Bounds what a `kill -9` of the script can lose to the last 200 ms (other exits flush synchronously).
    this.flusher = setInterval(() => this.spool?.flush(), 200);
    this.flusher.unref();
    if (o.metadata) {
      void collectMetadata(o.secrets).then((metadata) => {
        if (this.state === "running") this.spool?.append({ t: "u", b: { metadata } });
      });
    }
    if (o.systemMetricsMs) {
      this.sampler = startSampler((sample) => {
        if (this.state === "running") this.log(sample);
      }, o.systemMetricsMs);
    }
    if (this.client && this.sender) {
      const sender = this.sender;
      const client = this.client;
      // The server marks a silent run crashed; logging counts as a heartbeat, so only idle runs need one.
      this.heartbeat = setInterval(() => {
        if (Date.now() - sender.lastSendAt > 25_000) client.heartbeat(this.id).catch(() => {});
      }, 30_000);
      this.heartbeat.unref();
    }
  }

  /** @internal continue step counters and log seqs after a resume */
  resumeCounters(steps: Map<string, number>, lastSeq: number): void {
    for (const [k, v] of steps) this.steps.set(k, Math.max(this.steps.get(k) ?? 0, v));
    this.lastSeq = Math.max(this.lastSeq, lastSeq);
  }

  private textRecord(key: string, s: number, i: number, t: Text, ts: number) {
    if (t.text.length > MAX_TEXT || (t.caption?.length ?? 0) > MAX_CAPTION) {
      this.warnOnce(`long:${key}`, `'${key}': texts are cut to ${MAX_TEXT.toLocaleString("en-US")} characters, captions to ${MAX_CAPTION.toLocaleString("en-US")}`);
    }
    const c = t.caption?.slice(0, MAX_CAPTION);
    return { t: "x" as const, k: key, s, i, x: t.text.slice(0, MAX_TEXT), ...(c === undefined ? {} : { c }), ts };
  }

  private validKey(key: string): boolean {
    if (this.goodKeys.has(key)) return true;
    if (MetricKey.safeParse(key).success) return !!this.goodKeys.add(key);
    this.warnOnce(`key:${key}`, `'${key}' is not a valid key (1–255 characters, no control characters); skipped`);
    return false;
  }

  private warnOnce(id: string, message: string): void {
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.print(message, true);
  }

  private print(message: string, always = false): void {
    if (always || !this.opts.quiet) console.error(`swanlab: ${message}`);
  }
}

// The contract's limits, enforced here: one oversized value must not get a whole batch refused.
const MAX_TEXT = 1_000_000;
const MAX_CAPTION = 10_000;
const MAX_TEXTS = 10_001;

function describe(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

/** JSON-safe copy: NaN/±Infinity as strings, bigint as string, functions and undefined dropped. */
function toJson(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? toWireValue(x) : typeof x === "bigint" ? x.toString() : x)) ?? "null",
  );
}

// ---------------------------------------------------------------------------------------------------

/**
 * Starts a run. In cloud mode the run is created on the server first (a wrong key or project name fails
 * here); when the server cannot be reached, logging goes on into the spool and delivery retries.
 */
export async function init(options: InitOptions): Promise<Run> {
  const mode: Mode = options.mode ?? (process.env.SWANLAB_MODE as Mode | undefined) ?? "cloud";
  if (!["cloud", "offline", "disabled"].includes(mode)) throw new UserError(`mode must be cloud, offline or disabled (got '${mode}')`);
  const finishTimeoutMs = 1000 * (options.finishTimeoutSeconds ?? (Number(process.env.SWANLAB_FINISH_TIMEOUT) || 60));
  const quiet = options.quiet ?? false;
  if (mode === "disabled") return new Run(options.id ?? newRunId(), options.project, mode, undefined, undefined, undefined, undefined, options.config ?? {}, { finishTimeoutMs, quiet });

  if (!Name.safeParse(options.project).success) throw new UserError(`invalid project name '${options.project}': use letters, digits, '_', '-' and '.'`);
  if (options.id !== undefined && !RunId.safeParse(options.id).success) throw new UserError(`invalid run id '${options.id}': use letters, digits, '_' and '-' (at most 64)`);
  const resume = options.resume === true ? "allow" : options.resume === false || options.resume === undefined ? "never" : options.resume;
  if (resume !== "never" && !options.id) throw new UserError("resume needs the id of the run to continue");
  const id = options.id ?? newRunId();
  const config = (toJson(options.config ?? {}) ?? {}) as JsonObject;
  const create: CreateRunBody = {
    project: options.project,
    ...(options.workspace ? { workspace: options.workspace } : {}),
    ...(options.name ? { name: options.name } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(options.tags ? { tags: options.tags } : {}),
    config,
    id,
  };
  const dir = path.resolve(options.logDir ?? LOG_DIR(), id);
  const spool = new Spool(dir);
  const local = Spool.exists(dir);
  if (local && resume === "never") throw new UserError(`run folder ${dir} already exists: pass resume: true to continue run '${id}'`);

  let client: Client | undefined;
  let created = false;
  let abort: AbortController | undefined;
  const steps = new Map<string, number>();
  let lastSeq = 0;
  let apiKey: string | undefined;
  let workspace: string | undefined;
  if (mode === "cloud") {
    const creds = resolveCredentials({ host: options.host, apiKey: options.apiKey });
    if (!creds.apiKey) throw new UserError(`not logged in to ${creds.host}: run \`swanlab login --host ${creds.host}\` or set SWANLAB_API_KEY`);
    apiKey = creds.apiKey;
    abort = new AbortController();
    client = createClient({ host: creds.host, apiKey: creds.apiKey, signal: abort.signal });
    try {
      const res = await createClient({ host: creds.host, apiKey: creds.apiKey, timeoutMs: 10_000 }).createRun(create);
      created = true;
      workspace = res.run.workspace;
      const existed = res.status === 200;
      if (existed && resume === "never") throw new UserError(`run '${id}' already exists: pass resume: true to continue it`);
      if (!existed && resume === "must") throw new UserError(`run '${id}' does not exist on ${creds.host}, cannot resume it`);
      if (existed) {
        const detail = await client.getRun(id);
        for (const m of detail.metrics) if (m.lastStep !== null) steps.set(m.key, m.lastStep + 1);
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      if (err instanceof HttpError && err.status === 401) throw new UserError(`API key rejected by ${creds.host}`);
      if (err instanceof HttpError && !err.retryable) throw new UserError(`cannot start run on ${creds.host}: ${err.message}`);
      const why = err instanceof NetworkError || err instanceof HttpError ? err.message : String(err);
      console.error(`swanlab: ${why}; logging to ${dir} and retrying in the background`);
    }
  }

  if (local) {
    // Entries not yet acknowledged also count for the step counters.
    const prior = spool.readRun();
    if (prior.create.project !== options.project) throw new UserError(`run folder ${dir} belongs to project '${prior.create.project}'`);
    for (const r of spool.records(spool.readAck())) {
      if (r.t === "m" || r.t === "x") steps.set(r.k, Math.max(steps.get(r.k) ?? 0, r.s + 1));
      if (r.t === "l") lastSeq = Math.max(lastSeq, r.q);
    }
  }
  const runFile: RunFile = {
    version: 1, id, mode, host: client?.host ?? "", create, createdAt: local ? spool.readRun().createdAt : new Date().toISOString(),
    pid: process.pid, hostname: os.hostname(),
  };
  spool.open(runFile);

  const sender = client && abort ? new Sender({ spool, client, runId: id, create, created, abort }) : undefined;
  const run = new Run(id, options.project, mode, dir, spool, sender, client, config, { finishTimeoutMs, quiet });
  run.workspace = workspace;
  run.resumeCounters(steps, lastSeq);
  const sys = options.systemMetrics;
  run.startBackground({
    systemMetricsMs: sys === true ? 10_000 : typeof sys === "number" && sys > 0 ? sys * 1000 : undefined,
    metadata: options.metadata ?? true,
    secrets: [apiKey],
  });
  if (options.exitHooks ?? true) registerRun(run);
  if (!quiet) console.error(mode === "cloud" ? `swanlab: run '${id}' → ${run.url}` : `swanlab: offline run '${id}' in ${dir}`);
  return run;
}
