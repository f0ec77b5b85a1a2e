import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import type { LogBody } from "@swanhouse/contracts";
import { HttpError, NetworkError, type Client } from "./http.js";
import { Sender } from "./sender.js";
import { Spool } from "./spool.js";

/** A client whose log() answers from a script of outcomes, recording call times. */
function fakeClient(outcomes: Array<"ok" | "429" | "503" | "net" | "400">) {
  const calls: Array<{ at: number; body: LogBody }> = [];
  const client = {
    host: "http://fake",
    createRun: async () => ({ status: 201 }),
    updateRun: async () => ({}),
    finish: async () => ({}),
    log: async (_id: string, body: LogBody) => {
      calls.push({ at: Date.now(), body });
      const o = outcomes.shift() ?? "ok";
      if (o === "429") throw new HttpError(429, "429 slow down", 300);
      if (o === "503") throw new HttpError(503, "503 unavailable", undefined);
      if (o === "net") throw new NetworkError("cannot reach http://fake: connection refused");
      if (o === "400") throw new HttpError(400, "400 bad entry", undefined);
      return { accepted: { metrics: 0, texts: 0, logs: 0 } };
    },
  } as unknown as Client;
  return { client, calls };
}

function spoolWith(n: number): Spool {
  const s = new Spool(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sender-")), "r"));
  s.open({ version: 1, id: "r", mode: "cloud", host: "http://fake", create: { project: "p" }, createdAt: "", pid: 1, hostname: "h" });
  for (let i = 0; i < n; i++) s.append({ t: "m", k: "a", s: i, v: i, ts: 1 });
  s.flush();
  return s;
}

it("retries network errors, 5xx and 429 (waiting at least Retry-After), and acknowledges only on success", async () => {
  const spool = spoolWith(25_000);
  const { client, calls } = fakeClient(["net", "503", "429", "ok", "ok", "ok"]);
  const warnings: string[] = [];
  const sender = new Sender({ spool, client, runId: "r", create: { project: "p" }, created: true, warn: (m) => warnings.push(m) });
  expect(await sender.drain(20_000)).toBe(true);
  // 25k entries → batches of 10k, 10k, 5k; the first one took four tries.
  expect(calls.map((c) => c.body.metrics!.length)).toEqual([10_000, 10_000, 10_000, 10_000, 10_000, 5_000]);
  expect(calls[3]!.at - calls[2]!.at).toBeGreaterThanOrEqual(295);
  expect(sender.stats.retries).toBe(3);
  expect(spool.readAck()).toBe(spool.flushedSize);
  expect(warnings.filter((w) => w.includes("retrying"))).toHaveLength(1);
  expect(warnings.some((w) => w.includes("restored"))).toBe(true);
});

it("drops a batch refused with a 4xx, once, and goes on", async () => {
  const spool = spoolWith(15_000);
  const { client, calls } = fakeClient(["400", "ok"]);
  const warnings: string[] = [];
  const sender = new Sender({ spool, client, runId: "r", create: { project: "p" }, created: true, warn: (m) => warnings.push(m) });
  expect(await sender.drain(5_000)).toBe(true);
  expect(calls).toHaveLength(2);
  expect(sender.stats.dropped).toBe(10_000);
  expect(warnings).toEqual(["the server refused a batch of 10000 entries (400 bad entry); it was dropped"]);
});

it("gives up at the drain timeout, leaving the unsent part unacknowledged", async () => {
  const spool = spoolWith(10);
  const { client } = fakeClient(Array(100).fill("net"));
  const sender = new Sender({ spool, client, runId: "r", create: { project: "p" }, created: true, warn: () => {} });
  const t0 = Date.now();
  expect(await sender.drain(1_500)).toBe(false);
  expect(Date.now() - t0).toBeLessThan(2_500);
  expect(spool.readAck()).toBe(0);
});

it("stops (keeping everything unacknowledged) when the key is rejected, instead of dropping batches", async () => {
  const spool = spoolWith(10);
  const client = {
    host: "http://fake",
    log: async () => {
      throw new HttpError(401, "401 API key rejected: unknown or revoked", undefined);
    },
  } as unknown as Client;
  const warnings: string[] = [];
  const sender = new Sender({ spool, client, runId: "r", create: { project: "p" }, created: true, warn: (m) => warnings.push(m) });
  expect(await sender.drain(5_000)).toBe(false);
  expect(sender.fatalError).toBe("API key rejected by http://fake");
  expect(sender.stats.dropped).toBe(0);
  expect(spool.readAck()).toBe(0);
  expect(warnings).toHaveLength(1);
});

it("a drain after delivery gave up answers at once", async () => {
  const spool = spoolWith(5);
  const client = { host: "http://fake", log: async () => { throw new HttpError(401, "401 no", undefined); } } as unknown as Client;
  const sender = new Sender({ spool, client, runId: "r", create: { project: "p" }, created: true, warn: () => {} });
  sender.start();
  sender.kick();
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  expect(await sender.drain(10_000)).toBe(false);
  expect(Date.now() - t0).toBeLessThan(1000);
});
