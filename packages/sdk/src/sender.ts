// Delivers a spool to the server in order: batches of ≤ 10,000 log entries at most every second (sooner
// when a full batch is waiting), updates and the finish call in between. Network errors, 5xx and 429
// are retried with backoff and jitter; any other 4xx is reported once and that batch dropped. The ack
// offset moves only after the server answered, so a crash or outage re-sends (never loses) a batch.
import { MAX_LOG_ENTRIES, type CreateRunBody } from "@swanhouse/contracts";
import { backoffMs, HttpError, isRetryable, type Client } from "./http.js";
import type { Batch, Spool } from "./spool.js";

export type SenderOptions = {
  spool: Spool;
  client: Client;
  runId: string;
  create: CreateRunBody;
  /** The run was already created (init did it), skip the first create call. */
  created?: boolean;
  intervalMs?: number;
  warn?: (message: string) => void;
  /** Aborted by stop(): pass the same controller's signal to the client. */
  abort?: AbortController;
};

class Stopped extends Error {}

export class Sender {
  private ack: number;
  private created: boolean;
  private pendingEntries = 0;
  private stopped = false;
  /** The delivery loop has returned (drained, stopped or gave up). */
  private ended = false;
  private deadline = Infinity;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private drainWaiters: Array<() => void> = [];
  private outage = false;
  private fatal: string | undefined;
  private readonly intervalMs: number;
  private readonly warn: (m: string) => void;
  /** Counters, for progress and tests. */
  readonly stats = { requests: 0, retries: 0, dropped: 0, sentEntries: 0 };
  lastSendAt = 0;
  /** The run's workspace, once the sender created it. */
  workspace: string | undefined;

  constructor(private readonly o: SenderOptions) {
    this.ack = o.spool.readAck();
    this.created = o.created ?? false;
    this.intervalMs = o.intervalMs ?? 1000;
    this.warn = o.warn ?? ((m) => console.error(`swanlab: ${m}`));
  }

  get ackOffset(): number {
    return this.ack;
  }
  /** Why delivery gave up for good (the run could not be created), if it did. */
  get fatalError(): string | undefined {
    return this.fatal;
  }

  start(): void {
    this.loop ??= this.run().catch((err) => {
      if (!(err instanceof Stopped)) this.warn(`delivery stopped: ${(err as Error).message}; unsent data is kept in ${this.o.spool.dir}`);
    }).finally(() => {
      this.stopped = true;
      this.ended = true;
      for (const w of this.drainWaiters.splice(0)) w();
    });
  }

  /** Called per log entry; a full batch waiting wakes the loop early. */
  noteEntries(n: number): void {
    this.pendingEntries += n;
    if (this.pendingEntries >= MAX_LOG_ENTRIES) this.kick();
  }

  kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /**
   * Sends everything in the spool (including a finish record, if written) and resolves true, or false
   * when `timeoutMs` passed first or delivery gave up; the sender is stopped in both cases.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.deadline = Date.now() + timeoutMs;
    this.o.spool.flush();
    this.start();
    if (this.ended) return this.ack >= this.o.spool.flushedSize && !this.fatal;
    const done = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    const timer = setTimeout(() => {
      this.stop();
      for (const w of this.drainWaiters.splice(0)) w();
    }, timeoutMs);
    this.kick();
    await done;
    clearTimeout(timer);
    return this.ack >= this.o.spool.flushedSize && !this.fatal;
  }

  /** Stops at once (an in-flight request is abandoned, its batch stays unacknowledged). */
  stop(): void {
    this.stopped = true;
    this.o.abort?.abort();
    this.kick();
  }

  private draining(): boolean {
    return this.deadline !== Infinity;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.draining() && this.pendingEntries < MAX_LOG_ENTRIES) await this.sleep(this.intervalMs);
      if (this.stopped) break;
      this.o.spool.flush();
      this.pendingEntries = 0;
      while (!this.stopped && this.ack < this.o.spool.flushedSize) {
        if (!this.created) await this.ensureCreated();
        const batch = this.o.spool.read(this.ack, MAX_LOG_ENTRIES);
        await this.send(batch);
        this.ack = batch.end;
        this.o.spool.writeAck(this.ack);
        // Between full batches go on at once; a partial one waits for the next tick (≤ 1 s) unless draining.
        if (!this.draining() && batch.kind === "log" && batch.entries < MAX_LOG_ENTRIES) break;
        if (batch.kind === "finish") break;
      }
      if (this.draining() && this.ack >= this.o.spool.flushedSize && !this.o.spool.hasBuffered) {
        for (const w of this.drainWaiters.splice(0)) w();
        return;
      }
    }
  }

  private async ensureCreated(): Promise<void> {
    await this.withRetry("create run", async () => {
      const res = await this.o.client.createRun({ ...this.o.create, id: this.o.runId });
      this.workspace = res.run.workspace;
    }, (err) => {
      this.fatal = `cannot create run '${this.o.runId}' on ${this.o.client.host}: ${err.message}`;
      throw new Error(this.fatal);
    });
    this.created = true;
  }

  private async send(batch: Batch): Promise<void> {
    const c = this.o.client;
    const id = this.o.runId;
    if (batch.kind === "empty") return;
    const what = batch.kind === "log" ? `a batch of ${batch.entries} entries` : batch.kind === "update" ? "a run update" : "the finish call";
    await this.withRetry(what, async () => {
      if (batch.kind === "log") {
        await c.log(id, batch.body);
        this.stats.sentEntries += batch.entries;
      } else if (batch.kind === "update") await c.updateRun(id, batch.body);
      else await c.finish(id, batch.state);
      this.lastSendAt = Date.now();
    }, (err) => {
      this.stats.dropped += batch.kind === "log" ? batch.entries : 1;
      this.warn(`the server refused ${what} (${err.message}); it was dropped`);
    });
  }

  /** Runs fn until it succeeds; retryable errors wait with backoff, any other error goes to onFinal. */
  private async withRetry(what: string, fn: () => Promise<unknown>, onFinal: (err: Error) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new Stopped();
      try {
        this.stats.requests++;
        await fn();
        if (this.outage) this.warn(`connection to ${this.o.client.host} restored`);
        this.outage = false;
        return;
      } catch (err) {
        // A rejected key is not the data's fault: keep it all for `swanlab sync` instead of dropping batches.
        if (err instanceof HttpError && err.status === 401) {
          this.fatal = `API key rejected by ${this.o.client.host}`;
          throw new Error(this.fatal);
        }
        if (!isRetryable(err)) return onFinal(err as Error);
        this.stats.retries++;
        if (!this.outage) {
          this.warn(`${(err as Error).message}; retrying ${what} (unsent data is kept in ${this.o.spool.spoolFile})`);
          this.outage = true;
        }
        const wait = backoffMs(attempt, err instanceof HttpError ? err.retryAfterMs : undefined);
        if (Date.now() + wait > this.deadline) {
          await this.sleep(Math.max(0, this.deadline - Date.now()));
          throw new Stopped();
        }
        await this.sleep(wait);
      }
    }
  }

  /** An unref'd timer: a pending sleep never keeps the process alive. kick() ends it early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      t.unref();
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
