// fetch wrapper for /api/v1: same-origin session cookie, JSON bodies, every answer parsed with the
// contracts schema (a server/dashboard mismatch fails loudly here, not deep in a component).
import { ApiError } from "@swanhouse/contracts";
import type { z } from "zod";

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

type Method = "GET" | "POST" | "PATCH" | "DELETE";

export async function api<S extends z.ZodType>(schema: S, path: string, init: { method?: Method; body?: unknown; signal?: AbortSignal } = {}): Promise<z.infer<S>> {
  return schema.parse(await apiJson(path, init));
}

/** The request without the schema check, for callers that parse later (off a fetch queue). */
export async function apiJson(path: string, init: { method?: Method; body?: unknown; signal?: AbortSignal } = {}): Promise<unknown> {
  const res = await fetch(`/api/v1${path}`, {
    method: init.method ?? "GET",
    credentials: "same-origin",
    headers: init.body !== undefined ? { "content-type": "application/json" } : undefined,
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    signal: init.signal,
  });
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const parsed = ApiError.safeParse(json);
    if (parsed.success) throw new ApiRequestError(res.status, parsed.data.error.code, parsed.data.error.message, parsed.data.error.field);
    throw new ApiRequestError(res.status, "http_error", `${res.status} ${res.statusText}`);
  }
  return json;
}

export const qs = (params: Record<string, string | number | undefined | null>): string => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : "";
};

export const enc = encodeURIComponent;
