// Pure logic of the jobs service: queue state → row update, data summaries.
import { describe, expect, it } from "vitest";
import { summarizeData, transition } from "./jobs.service.js";

const created = new Date("2026-01-01T00:00:00Z");
const now = new Date("2026-01-01T00:10:00Z");
const row = { status: "running" as const, createdAt: created, cancelRequestedAt: null, startedAt: created, totalSteps: 10 };
const progress = { phase: "training" as const, runId: "r1", step: 4, totalSteps: 10, etaSeconds: 30, workerId: "w1" };

describe("transition", () => {
  it("follows progress while active", () => {
    expect(transition(row, { state: "active", progress }, now)).toMatchObject({ status: "running", runId: "r1", step: 4, totalSteps: 10, progress: 0.4, etaSeconds: 30, workerId: "w1", startedAt: created });
  });
  it("succeeds with full progress, or ends cancelled on a cancelled outcome", () => {
    const result = { outcome: "succeeded" as const, runId: "r1", adapterPath: "/a", accuracy: 1, finalLoss: 0.1 };
    expect(transition(row, { state: "completed", result, progress }, now)).toMatchObject({ status: "succeeded", progress: 1, step: 10, finishedAt: now, etaSeconds: null });
    const cancelled = transition(row, { state: "completed", result: { ...result, outcome: "cancelled" }, progress }, now);
    expect(cancelled).toMatchObject({ status: "cancelled", step: 4, progress: 0.4 });
  });
  it("fails with the queue's reason", () => {
    expect(transition(row, { state: "failed", failedReason: "trainer exploded" }, now)).toMatchObject({ status: "failed", error: "trainer exploded", finishedAt: now });
  });
  it("treats a job missing from the queue as lost only after a grace period", () => {
    expect(transition({ ...row, status: "queued", createdAt: new Date(now.getTime() - 1000) }, { state: "missing" }, now)).toBeUndefined();
    expect(transition(row, { state: "missing" }, now)).toMatchObject({ status: "failed" });
    expect(transition({ ...row, cancelRequestedAt: now }, { state: "missing" }, now)).toMatchObject({ status: "cancelled" });
  });
  it("leaves a queued row alone while it waits", () => {
    expect(transition({ ...row, status: "queued" }, { state: "queued" }, now)).toBeUndefined();
  });
});

describe("summarizeData", () => {
  it("never keeps uploaded content", () => {
    const s = summarizeData({ kind: "files", train: { kind: "upload", filename: "t.jsonl", content: "é\n" }, test: { kind: "path", path: "/d/test.jsonl" } });
    expect(s).toEqual({ kind: "files", train: { kind: "upload", filename: "t.jsonl", bytes: 3 }, test: { kind: "path", path: "/d/test.jsonl" } });
  });
});
