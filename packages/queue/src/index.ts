// The fine-tune job queue, shared by server and worker. BullMQ on Redis when REDIS_URL is set (production,
// docker-compose), else BullMQ's PostgreSQL backend in the server's own database (schema "bullmq"), so that
// `npm start` needs nothing more. Two job queues (cpu, gpu) and one control channel carrying custom
// events: worker heartbeats (worker → server) and cancel requests (server → worker).
import { Queue, QueueEvents, QueueEventsProducer, Worker, createPostgresBackend, withBackend } from "bullmq";
import type { Job, Processor, QueueOptions, WorkerOptions } from "bullmq";
import type { JobDevice, LoraJobData, LoraJobProgress, LoraJobResult, WorkerHeartbeat } from "@swanhouse/contracts";

export const JOB_QUEUE_NAMES = ["finetune-cpu", "finetune-gpu"] as const;
export const CONTROL_QUEUE_NAME = "finetune-control";
export const queueNameFor = (device: JobDevice): (typeof JOB_QUEUE_NAMES)[number] => (device === "cuda" ? "finetune-gpu" : "finetune-cpu");

export type QueueBackend = "redis" | "postgres";
/** `prefix` namespaces the Redis keys (tests run side by side on one Redis); PostgreSQL uses the "bullmq" schema. */
export type QueueTarget = { backend: "redis"; url: string; prefix?: string } | { backend: "postgres"; url: string };

/** REDIS_URL wins; otherwise the PostgreSQL database the server already uses. */
export function queueTarget(opts: { redisUrl?: string | undefined; databaseUrl?: string | undefined }): QueueTarget {
  if (opts.redisUrl) return { backend: "redis", url: opts.redisUrl };
  if (opts.databaseUrl) return { backend: "postgres", url: opts.databaseUrl };
  throw new Error("job queue: set REDIS_URL, or DATABASE_URL for the PostgreSQL backend");
}

export function describeTarget(t: QueueTarget): string {
  const u = new URL(t.url);
  return `${t.backend} at ${u.hostname}:${u.port || (t.backend === "redis" ? 6379 : 5432)}${t.backend === "postgres" ? u.pathname : ""}`;
}

/** redis://[user:pass@]host:port[/db] → ioredis options (BullMQ then owns its clients). */
function redisOptions(url: string) {
  const u = new URL(url);
  const db = Number(u.pathname.replace("/", "") || 0);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: Number.isFinite(db) ? db : 0,
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

export type LoraJob = Job<LoraJobData, LoraJobResult>;
export type ControlEvent =
  | { eventName: "cancel"; jobId: string }
  | { eventName: "worker-heartbeat"; heartbeat: WorkerHeartbeat };

type Closable = { close: () => Promise<void> };

// BullMQ's generic classes differ per backend; this kit hides that behind one small surface.
export interface QueueKit {
  readonly target: QueueTarget;
  queue(name: string): Queue<LoraJobData, LoraJobResult>;
  worker(name: string, processor: Processor<LoraJobData, LoraJobResult>, opts?: Omit<WorkerOptions, "connection">): Worker<LoraJobData, LoraJobResult>;
  events(name: string): QueueEvents;
  /** Publishes a custom event on the control channel. */
  publish(event: ControlEvent): Promise<void>;
  /** Listens to the control channel; returns a stop function. */
  subscribe(handler: (event: ControlEvent) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export function openQueueKit(target: QueueTarget): QueueKit {
  const open: Closable[] = [];
  const track = <T extends Closable>(x: T): T => (open.push(x), x);
  type Ctors = { Queue: typeof Queue; Worker: typeof Worker; QueueEvents: typeof QueueEvents; QueueEventsProducer: typeof QueueEventsProducer };
  let ctors: Ctors;
  let connection: unknown;
  if (target.backend === "redis") {
    ctors = { Queue, Worker, QueueEvents, QueueEventsProducer };
    connection = redisOptions(target.url);
  } else {
    ctors = withBackend(createPostgresBackend) as unknown as Ctors;
    // migrate: creates/updates BullMQ's own schema ("bullmq") in this database on first connect.
    connection = { connectionString: target.url, migrate: true, max: 4 };
  }
  const prefix = target.backend === "redis" && target.prefix ? { prefix: target.prefix } : {};
  const base = () => ({ connection, ...prefix } as QueueOptions);
  let producer: QueueEventsProducer | undefined;

  return {
    target,
    queue: (name) => track(new ctors.Queue(name, base()) as Queue<LoraJobData, LoraJobResult>),
    worker: (name, processor, opts) =>
      track(new ctors.Worker(name, processor, { ...opts, ...base() }) as Worker<LoraJobData, LoraJobResult>),
    events: (name) => track(new ctors.QueueEvents(name, base())),
    async publish(event) {
      producer ??= track(new ctors.QueueEventsProducer(CONTROL_QUEUE_NAME, base()));
      const payload = event.eventName === "cancel" ? { jobId: event.jobId } : { heartbeat: JSON.stringify(event.heartbeat) };
      await producer.publishEvent({ eventName: event.eventName, ...payload } as never);
    },
    async subscribe(handler) {
      const events = track(new ctors.QueueEvents(CONTROL_QUEUE_NAME, base()));
      const listener = (args: Record<string, unknown>) => {
        const parsed = parseControlEvent(args);
        if (parsed) handler(parsed);
      };
      events.on("cancel" as never, listener as never);
      events.on("worker-heartbeat" as never, listener as never);
      await events.waitUntilReady();
      return async () => {
        await events.close();
      };
    },
    async close() {
      const all = open.splice(0).reverse();
      await Promise.allSettled(all.map((c) => c.close()));
    },
  };
}

/** Custom events arrive as flat string fields; the `eventName` listener receives the other fields. */
export function parseControlEvent(args: Record<string, unknown>): ControlEvent | undefined {
  if (typeof args.jobId === "string" && args.heartbeat === undefined) return { eventName: "cancel", jobId: args.jobId };
  if (typeof args.heartbeat === "string") {
    try {
      return { eventName: "worker-heartbeat", heartbeat: JSON.parse(args.heartbeat) as WorkerHeartbeat };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function progressOf(job: { progress: unknown }): LoraJobProgress | undefined {
  const p = job.progress;
  return typeof p === "object" && p !== null && "phase" in p ? (p as LoraJobProgress) : undefined;
}

export type { Job, Queue, Worker, QueueEvents };
