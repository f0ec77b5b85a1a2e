// Exit hooks, with a real trainer subprocess: ending normally finishes the run, SIGTERM aborts it, an
// uncaught error crashes it and sends the stack as a log line. Metadata (argv masked) arrives at start.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { LogsResponse, RunDetailResponse } from "@swanhouse/contracts";
import { createUser, get, SDK_DIR, startInProcess, type TestServer, type TestUser } from "./server.js";
import { runNode } from "./cli.js";

let server: TestServer;
let user: TestUser;
let logDir: string;
const script = path.join(SDK_DIR, "test/fixtures/trainer.ts");

beforeAll(async () => {
  server = await startInProcess();
  user = await createUser(server.url);
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), "swanlog-hooks-"));
});
afterAll(async () => server?.close());

const env = (id: string) => ({ SWANLAB_HOST: server.url, SWANLAB_API_KEY: user.key, LOG_DIR: logDir, RUN_ID: id, HOME: logDir });
const detail = (id: string) => get<RunDetailResponse>(server.url, user.key, `/runs/${id}`);

it("a script that ends without finish() finishes its run, with metadata and a masked command line", async () => {
  const id = `normal-${Date.now()}`;
  const r = await runNode([script, "normal", "--api-key", user.key], { env: env(id) });
  expect(r.code).toBe(0);
  const d = await detail(id);
  expect(d.run.status).toBe("finished");
  expect(d.metrics.find((m) => m.key === "loss")?.count).toBe(100);
  expect(d.run.metadata.hostname).toBe(os.hostname());
  expect(d.run.metadata.runtime).toMatchObject({ node: process.version });
  const command = String(d.run.metadata.command);
  expect(command).toContain("--api-key ***");
  expect(command).not.toContain(user.key);
});

it("an uncaught error marks the run crashed and logs the stack; the process still fails", async () => {
  const id = `throw-${Date.now()}`;
  const r = await runNode([script, "throw"], { env: env(id) });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("boom in the training loop");
  expect((await detail(id)).run.status).toBe("crashed");
  const logs = await get<LogsResponse>(server.url, user.key, `/runs/${id}/logs`);
  const line = logs.logs.find((l) => l.level === "error");
  expect(line?.message).toMatch(/Error: boom in the training loop\n\s+at /);
});

it("SIGTERM marks the run aborted and the process ends as killed by the signal", async () => {
  const id = `term-${Date.now()}`;
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", script, "sigterm"], { cwd: SDK_DIR, env: { ...process.env, ...env(id) } });
  await new Promise<void>((resolve) => child.stdout.on("data", (d) => String(d).includes("ready") && resolve()));
  const exited = new Promise<[number | null, string | null]>((resolve) => child.on("exit", (code, sig) => resolve([code, sig])));
  child.kill("SIGTERM");
  expect(await exited).toEqual([null, "SIGTERM"]);
  expect((await detail(id)).run.status).toBe("aborted");
});

it("process.exit() without finish() leaves a spool that `swanlab sync` completes", async () => {
  const id = `exit-${Date.now()}`;
  const r = await runNode([script, "exit"], { env: env(id) });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(`swanlab sync ${path.join(logDir, id)}`);
  const s = await runNode([path.join(SDK_DIR, "src/cli.ts"), "sync", path.join(logDir, id)], { env: env(id) });
  expect(s.stderr).toBe("");
  expect(s.code).toBe(0);
  const d = await detail(id);
  expect(d.run.status).toBe("finished");
  expect(d.metrics.find((m) => m.key === "loss")?.count).toBe(100);
});
