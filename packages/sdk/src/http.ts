// The few /api/v1 calls the SDK makes, with responses validated by the shared contracts.
// Errors are classified for the sender: network and 5xx/429 are retryable, other 4xx are final.
import type { z } from "zod";
import {
  ApiError, LogResponse, MeResponse, RunDetailResponse, RunResponse,
  type CreateRunBody, type LogBody, type RunStatus, type UpdateRunBody,
} from "@swanhouse/contracts";

export const SDK_VERSION = "0.1.0";

/** The server answered with a status; `retryable` for 5xx and 429. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** No answer at all (refused, reset, DNS, timeout). Always retryable. */
export class NetworkError extends Error {
  override name = "NetworkError";
}

export const isRetryable = (err: unknown) => err instanceof NetworkError || (err instanceof HttpError && err.retryable);

/** `signal` aborts every call of this client (a stopped sender abandons its request). */
export type ClientOptions = { host: string; apiKey: string; timeoutMs?: number; signal?: AbortSignal };

export function createClient(opts: ClientOptions) {
  const base = `${opts.host}/api/v1`;
  const timeoutMs = opts.timeoutMs ?? 30_000;

  async function call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.infer<S>>;
  async function call<S extends z.ZodType>(method: string, path: string, schema: S, body: unknown, withStatus: true): Promise<z.infer<S> & { status: number }>;
  async function call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown, withStatus = false): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: {
          authorization: `Bearer ${opts.apiKey}`,
          "x-swanlab-sdk-version": `swanhouse-node/${SDK_VERSION}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new NetworkError(describeNetworkError(err, opts.host));
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new NetworkError(describeNetworkError(err, opts.host));
    }
    if (!res.ok) {
      const parsed = ApiError.safeParse(safeJson(text));
      const msg = parsed.success ? parsed.data.error.message : text.slice(0, 300) || res.statusText;
      throw new HttpError(res.status, `${res.status} ${msg}`, retryAfter(res.headers.get("retry-after")));
    }
    const parsed = schema.safeParse(safeJson(text));
    if (!parsed.success) throw new HttpError(res.status, `unexpected response from ${method} ${path}: ${parsed.error.message}`, undefined);
    return withStatus ? { ...(parsed.data as object), status: res.status } : parsed.data;
  }

  return {
    host: opts.host,
    me: () => call("GET", "/auth/me", MeResponse),
    createRun: (body: CreateRunBody) => call("POST", "/runs", RunResponse, body, true),
    getRun: (id: string) => call("GET", `/runs/${encodeURIComponent(id)}`, RunDetailResponse),
    updateRun: (id: string, body: UpdateRunBody) => call("PATCH", `/runs/${encodeURIComponent(id)}`, RunResponse, body),
    log: (id: string, body: LogBody) => call("POST", `/runs/${encodeURIComponent(id)}/log`, LogResponse, body),
    heartbeat: (id: string) => call("POST", `/runs/${encodeURIComponent(id)}/heartbeat`, RunResponse, {}),
    finish: (id: string, state: Exclude<RunStatus, "running">) => call("POST", `/runs/${encodeURIComponent(id)}/finish`, RunResponse, { state }),
  };
}
export type Client = ReturnType<typeof createClient>;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function describeNetworkError(err: unknown, host: string): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `${host} did not answer in time`;
  const code = e?.cause?.code ?? "";
  if (code === "ECONNREFUSED") return `cannot reach ${host}: connection refused (is the server running?)`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `cannot reach ${host}: unknown host`;
  return `cannot reach ${host}: ${e?.cause?.message ?? e?.message ?? String(err)}`;
}

/**
 * Exponential backoff with "equal jitter": attempt 0 waits 0.25–0.5 s, then 0.5–1 s, 1–2 s… up to 15–30 s.
 * A server's Retry-After is honoured, plus up to 250 ms of jitter so that clients do not return in step.
 */
export function backoffMs(attempt: number, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return retryAfterMs + random() * 250;
  const cap = Math.min(30_000, 500 * 2 ** Math.min(attempt, 16));
  return cap / 2 + random() * (cap / 2);
}

/** The dashboard page of a run (the web app's /:workspace/:project/runs/:id route). */
export function runUrl(host: string, workspace: string | undefined, project: string, id: string): string {
  return workspace ? `${host}/${encodeURIComponent(workspace)}/${encodeURIComponent(project)}/runs/${encodeURIComponent(id)}` : `${host}/`;
}
