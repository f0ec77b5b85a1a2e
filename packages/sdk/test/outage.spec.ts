// 100k points logged while the server process is SIGKILLed and restarted mid-run: all arrive, once.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { LogsResponse, RunDetailResponse, SeriesResponse } from "@swanhouse/contracts";
import { init } from "../src/index.js";
import { createUser, get, startProcess, type ServerProcess, type TestUser } from "./server.js";

let server: ServerProcess;
let user: TestUser;

beforeAll(async () => {
  server = await startProcess();
  user = await createUser(server.url);
});
afterAll(async () => server?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("100k points survive a SIGKILL and restart of the server, with no duplicates", async () => {
  const warn = vi.spyOn(console, "error").mockImplementation(() => {});
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "swanlog-outage-"));
  const run = await init({ project: "outage", host: server.url, apiKey: user.key, logDir, exitHooks: false, metadata: false, quiet: true, finishTimeoutSeconds: 120 });
  const N = 50_000; // per key, two keys: 100k points
  let down = false;
  for (let i = 0; i < N; i++) {
    run.log({ "train/loss": Math.sin(i / 100), "train/lr": i * 1e-6 });
    if (i % 1000 === 999) {
      run.logMessage(`step ${i}`);
      await sleep(20); // a trainer's pace: the sender runs between chunks
    }
    if (i === 15_000) {
      await server.kill();
      down = true;
    }
    if (i === 30_000 && down) {
      await sleep(1500); // long enough for retries to back off
      await server.start();
      down = false;
    }
  }
  expect(await run.finish()).toBe(true);
  const messages = warn.mock.calls.map((c) => String(c[0]));
  warn.mockRestore();
  expect(run.stats!.retries).toBeGreaterThan(0);
  expect(messages.some((m) => m.includes("restored"))).toBe(true);

  const detail = await get<RunDetailResponse>(server.url, user.key, `/runs/${run.id}`);
  expect(detail.run.status).toBe("finished");
  for (const [key, f] of [["train/loss", (i: number) => Math.sin(i / 100)], ["train/lr", (i: number) => i * 1e-6]] as const) {
    const s = await get<SeriesResponse>(server.url, user.key, `/runs/${run.id}/metrics?key=${encodeURIComponent(key)}&maxPoints=100000`);
    expect(s.total).toBe(N);
    expect(s.downsampled).toBe(false);
    expect(s.points.length).toBe(N);
    const bad = s.points.filter((p, i) => p.step !== i || Math.abs(Number(p.value) - f(i)) > 1e-12);
    expect(bad).toEqual([]);
    // The per-key counter is bumped only by rows actually inserted: a duplicate would show here.
    expect(detail.metrics.find((m) => m.key === key)?.count).toBe(N);
  }
  const logs = await get<LogsResponse>(server.url, user.key, `/runs/${run.id}/logs?limit=500`);
  expect(logs.logs.map((l) => l.message)).toEqual(Array.from({ length: N / 1000 }, (_, k) => `step ${k * 1000 + 999}`));
});
