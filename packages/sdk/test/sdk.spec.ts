// init/log/finish against a real server (buildApp in-process, real port): values, steps, texts, config,
// resume by id, a refused batch dropped once, and an offline run + `swanlab sync` equal to an online run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LogsResponse, RunDetailResponse, SeriesResponse, TextsResponse } from "@swanhouse/contracts";
import { init, Text, type Run } from "../src/index.js";
import { createUser, freePort, get, startInProcess, type TestServer, type TestUser } from "./server.js";
import { swanlab } from "./cli.js";
import type { Spool } from "../src/spool.js";

let server: TestServer;
let user: TestUser;
let logDir: string;

beforeAll(async () => {
  server = await startInProcess();
  user = await createUser(server.url);
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), "swanlog-"));
});
afterAll(async () => server?.close());

const opts = () => ({ host: server.url, apiKey: user.key, logDir, exitHooks: false, metadata: false, quiet: true });
const series = (id: string, key: string) => get<SeriesResponse>(server.url, user.key, `/runs/${id}/metrics?key=${encodeURIComponent(key)}&maxPoints=100000`);

/** The same script, for the online and the offline run. */
function script(run: Run) {
  run.config.update({ lr: 0.001, optimizer: { name: "adamw" } });
  for (let i = 0; i < 300; i++) {
    run.log({ "train/loss": 1 / (i + 1), "train/acc": i / 300 });
    if (i % 100 === 0) run.log({ "eval/loss": i === 200 ? NaN : i === 100 ? Infinity : -Infinity }, i);
  }
  run.log({ sample: new Text("a match report", { caption: "Sports" }) }, 5);
  run.log({ samples: [new Text("one"), new Text("two", { caption: "c2" })] }, 7);
  run.logMessage("hello from the trainer");
  run.logMessage("a warning", "warning");
}

async function snapshot(id: string) {
  const detail = await get<RunDetailResponse>(server.url, user.key, `/runs/${id}`);
  const out: Record<string, unknown> = {
    status: detail.run.status,
    config: detail.run.config,
    metrics: detail.metrics.map((m) => ({ key: m.key, kind: m.kind, count: m.count, lastStep: m.lastStep, lastValue: m.lastValue })).sort((a, b) => a.key.localeCompare(b.key)),
  };
  for (const key of ["train/loss", "train/acc", "eval/loss"]) out[key] = (await series(id, key)).points.map((p) => [p.step, p.value]);
  for (const key of ["sample", "samples"]) out[key] = (await get<TextsResponse>(server.url, user.key, `/runs/${id}/texts?key=${key}`)).items.map((t) => [t.step, t.index, t.text, t.caption]);
  out.logs = (await get<LogsResponse>(server.url, user.key, `/runs/${id}/logs?limit=500`)).logs.map((l) => [l.level, l.message]);
  return out;
}

describe("cloud runs", () => {
  it("logs numbers (NaN/±Infinity), per-key steps, texts, config and log lines; finish marks it finished", async () => {
    const run = await init({ ...opts(), project: "sdk-demo", name: "first", tags: ["a"], config: { seed: 1 } });
    expect(run.url).toBe(`${server.url}/${user.username}/sdk-demo/runs/${run.id}`);
    script(run);
    expect(await run.finish()).toBe(true);
    const s = await snapshot(run.id);
    expect(s.status).toBe("finished");
    expect(s.config).toEqual({ seed: 1, lr: 0.001, optimizer: { name: "adamw" } });
    expect((s["train/loss"] as unknown[]).length).toBe(300);
    expect((s["train/loss"] as Array<[number, number]>)[299]).toEqual([299, 1 / 300]);
    expect(s["eval/loss"]).toEqual([[0, "-Infinity"], [100, "Infinity"], [200, "NaN"]]);
    expect(s.sample).toEqual([[5, 0, "a match report", "Sports"]]);
    expect(s.samples).toEqual([[7, 0, "one", null], [7, 1, "two", "c2"]]);
    expect(s.logs).toEqual([["info", "hello from the trainer"], ["warning", "a warning"]]);
  });

  it("resumes a run by id: step counters continue and nothing is duplicated", async () => {
    const id = `resume-${Date.now()}`;
    const a = await init({ ...opts(), project: "sdk-demo", id });
    for (let i = 0; i < 10; i++) a.log({ x: i });
    await a.finish();
    await expect(init({ ...opts(), project: "sdk-demo", id })).rejects.toThrow(/resume/);
    const b = await init({ ...opts(), project: "sdk-demo", id, resume: true });
    for (let i = 10; i < 15; i++) b.log({ x: i });
    await b.finish();
    const pts = (await series(id, "x")).points;
    expect(pts.map((p) => [p.step, p.value])).toEqual(Array.from({ length: 15 }, (_, i) => [i, i]));
    await expect(init({ ...opts(), project: "sdk-demo", id: "never-made", resume: "must" })).rejects.toThrow(/does not exist/);
  });

  it("a wrong key fails init with 'API key rejected by <host>'", async () => {
    await expect(init({ ...opts(), apiKey: "wrongwrongwrongwrong1", project: "sdk-demo" })).rejects.toThrow(`API key rejected by ${server.url}`);
  });

  it("a batch the server refuses (4xx) is reported once and dropped; the rest arrives", async () => {
    const warn = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const run = await init({ ...opts(), project: "sdk-demo" });
      run.log({ ok: 1 }, 0);
      await new Promise((r) => setTimeout(r, 1500)); // delivered in its own batch
      // log() keeps values within the contract, so forge a line the server refuses (a step below 0).
      (run as unknown as { spool: Spool }).spool.append({ t: "m", k: "bad", s: -1, v: 1, ts: Date.now() });
      await new Promise((r) => setTimeout(r, 1500));
      run.log({ ok: 2 }, 1);
      expect(await run.finish()).toBe(true);
      const refused = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes("refused"));
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatch(/400/);
      expect(run.stats?.dropped).toBe(1);
      expect((await series(run.id, "ok")).points.map((p) => p.value)).toEqual([1, 2]);
    } finally {
      warn.mockRestore();
    }
  });

  it("an oversized text is cut to the contract's limit instead of getting its batch refused", async () => {
    const warn = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const run = await init({ ...opts(), project: "sdk-demo" });
      run.log({ big: new Text("x".repeat(1_000_005)), n: 1 }, 0);
      expect(await run.finish()).toBe(true);
      expect(run.stats?.dropped).toBe(0);
      const t = await get<TextsResponse>(server.url, user.key, `/runs/${run.id}/texts?key=big`);
      expect(t.items[0]!.text.length).toBe(1_000_000);
      expect((await series(run.id, "n")).points).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });

  it("invalid values and keys warn once and are skipped; disabled mode does nothing", async () => {
    const warn = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const run = await init({ ...opts(), project: "sdk-demo" });
      for (let i = 0; i < 3; i++) run.log({ a: i, bad: "str" as never, "": 1 });
      await run.finish();
      expect(warn.mock.calls.filter((c) => String(c[0]).includes("'bad'"))).toHaveLength(1);
      expect((await series(run.id, "a")).points).toHaveLength(3);
      const off = await init({ project: "x", mode: "disabled" });
      off.log({ a: 1 });
      expect(await off.finish()).toBe(true);
    } finally {
      warn.mockRestore();
    }
  });
});

describe("system metrics", () => {
  it("the sampler logs CPU and memory as system series", async () => {
    const run = await init({ ...opts(), project: "sdk-demo", systemMetrics: 0.2 });
    await new Promise((r) => setTimeout(r, 1000));
    await run.finish();
    const d = await get<RunDetailResponse>(server.url, user.key, `/runs/${run.id}`);
    const cpu = d.metrics.find((m) => m.key === "__swanlab__.cpu.pct");
    expect(cpu?.isSystem).toBe(true);
    expect(cpu!.count).toBeGreaterThanOrEqual(2);
    expect(d.metrics.find((m) => m.key === "__swanlab__.mem.proc")?.lastValue).toBeGreaterThan(10);
  });
});

describe("offline runs and swanlab sync", () => {
  it("a cloud run whose server is down the whole time keeps everything; finish says how to sync it", async () => {
    const warn = vi.spyOn(console, "error").mockImplementation(() => {});
    let messages: string[] = [];
    let run: Run;
    try {
      run = await init({ ...opts(), host: `http://127.0.0.1:${await freePort()}`, project: "sdk-down", finishTimeoutSeconds: 1 });
      for (let i = 0; i < 50; i++) run.log({ loss: i });
      expect(await run.finish()).toBe(false);
      messages = warn.mock.calls.map((c) => String(c[0]));
    } finally {
      warn.mockRestore();
    }
    expect(messages.some((m) => m.includes("retrying in the background"))).toBe(true);
    expect(messages.some((m) => m.includes(`swanlab sync ${run.dir}`))).toBe(true);
    const r = await swanlab(["sync", run.dir!, "--host", server.url], { env: { HOME: os.tmpdir(), SWANLAB_API_KEY: user.key } });
    expect(r.code).toBe(0);
    const d = await get<RunDetailResponse>(server.url, user.key, `/runs/${run.id}`);
    expect(d.run.status).toBe("finished");
    expect((await series(run.id, "loss")).points.map((p) => p.value)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });


  it("an offline run uploaded with `swanlab sync` equals the same run logged online; sync is idempotent and resumable", async () => {
    const online = await init({ ...opts(), project: "sdk-sync", config: { seed: 7 } });
    script(online);
    await online.finish();

    const offline = await init({ ...opts(), mode: "offline", project: "sdk-sync", config: { seed: 7 } });
    script(offline);
    await offline.finish();
    expect(fs.existsSync(path.join(offline.dir!, "spool.jsonl"))).toBe(true);
    await expect(get(server.url, user.key, `/runs/${offline.id}`)).rejects.toThrow(/404/);

    const env = { HOME: os.tmpdir(), SWANLAB_HOST: server.url, SWANLAB_API_KEY: user.key };
    // First against a dead host: a clear error, nothing lost.
    const dead = await swanlab(["sync", offline.dir!, "--host", `http://127.0.0.1:${await freePort()}`], { env });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain("connection refused");

    const first = await swanlab(["sync", offline.dir!], { env });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    // 300 × 2 scalars + 3 eval points + 3 texts + 2 log lines
    expect(first.stdout).toContain(`${offline.id}: synced 608 entries to ${server.url}/${user.username}/sdk-sync/runs/${offline.id}`);
    const a = await snapshot(online.id);
    const b = await snapshot(offline.id);
    expect(b).toEqual(a);

    const again = await swanlab(["sync", logDir], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${offline.id}: already synced`);
    // Forget the progress: a full re-send duplicates nothing.
    fs.rmSync(path.join(offline.dir!, "ack.json"));
    const resend = await swanlab(["sync", offline.dir!], { env });
    expect(resend.code).toBe(0);
    expect(await snapshot(offline.id)).toEqual(a);
  });
});
