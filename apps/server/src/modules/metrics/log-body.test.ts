// The fast path over log bodies must agree with the LogBody contract: whatever it accepts, LogBody
// accepts with the same value; and it must take the usual shape (else it saves nothing).
import { describe, expect, it } from "vitest";
import { LogBody, MAX_LOG_ENTRIES } from "@swanhouse/contracts";
import { parseUsualLogBody } from "./log-body.js";

let seed = 7;
/** mulberry32: a seeded generator in 32-bit integer arithmetic (so the sequence does not collapse). */
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
/** Mostly one of the first `valid` choices (the lists start with values LogBody accepts). */
const mostly = <T>(xs: readonly T[], valid: number): T => (rand() < 0.85 ? xs[Math.floor(rand() * valid)]! : pick(xs));

const keys = ["loss", "train/loss", "a", "x".repeat(255), "ünï/✓", "trail ", "__swanlab__.cpu", "", " lead", "tab\tin", "x".repeat(256), "nul\u0000"];
const steps = [0, 1, 41, 2_147_483_647, 2_147_483_648, -1, 1.5, "3", null, Number.MAX_SAFE_INTEGER, NaN];
const values = [0, -0, 1.25, -3e300, 5e-324, "NaN", "Infinity", "-Infinity", "nan", NaN, Infinity, null, true, "1"];
const times = [undefined, 0, 1_700_000_000_000, 8.64e15, 8.64e15 + 1, -1, 1.5, "2026-01-02T03:04:05.678Z", "yesterday", NaN, Infinity, null];
const extras = [{}, {}, {}, { caption: "x" }, { index: 1 }];

function entry(): unknown {
  const r = rand();
  if (r < 0.02) return pick([null, [], "m", 3]);
  const e: Record<string, unknown> = { key: mostly(keys, 7), step: mostly(steps, 4), value: mostly(values, 5), ...mostly(extras, 3) };
  const t = mostly(times, 4);
  if (t !== undefined || rand() < 0.5) e.time = t;
  if (rand() < 0.03) delete e[pick(["key", "step", "value"])];
  return e;
}

function body(): unknown {
  const r = rand();
  if (r < 0.02) return pick([null, [], "x", { metrics: "no" }, { metrics: [], other: 1 }]);
  const b: Record<string, unknown> = { metrics: Array.from({ length: 1 + Math.floor(rand() * 3) }, entry) };
  if (rand() < 0.1) b.texts = [{ key: pick(keys), step: pick(steps), text: pick(["hi", 3]) }];
  if (rand() < 0.1) b.logs = [{ message: pick(["m", 5]), ...(rand() < 0.5 ? { level: pick(["info", "loud"]) } : {}) }];
  return b;
}

describe("parseUsualLogBody", () => {
  it("never accepts what LogBody refuses, and gives LogBody's value", () => {
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = body();
      const usual = parseUsualLogBody(b);
      if (!usual) continue;
      fast++;
      const contract = LogBody.safeParse(b);
      expect(contract.success, JSON.stringify(b)).toBe(true);
      expect(usual).toEqual(contract.data);
    }
    expect(fast).toBeGreaterThan(100); // the generator reaches the fast path often enough to mean something
  });

  it("takes the usual shapes, leaves the rest to LogBody", () => {
    const metrics = Array.from({ length: MAX_LOG_ENTRIES }, (_, s) => ({ key: s % 2 ? "train/loss" : "lr", step: s, value: s / 7, time: 1_700_000_000_000 + s }));
    expect(parseUsualLogBody({ metrics })).toEqual({ metrics });
    expect(parseUsualLogBody({ metrics: [{ key: "a", step: 1, value: 2 }], logs: [{ message: "m" }] })).toEqual({ metrics: [{ key: "a", step: 1, value: 2 }], logs: [{ level: "info", message: "m" }] });
    expect(parseUsualLogBody({})).toEqual({});
    expect(parseUsualLogBody({ metrics: [...metrics, { key: "a", step: 1, value: 1 }] })).toBeUndefined(); // 10,001 entries
    expect(parseUsualLogBody({ metrics: [{ key: "a", step: 1, value: "NaN" }] })).toBeUndefined();
    expect(parseUsualLogBody({ metrics: [{ key: "a", step: 1, value: 1, time: "2026-01-02T03:04:05Z" }] })).toBeUndefined();
    expect(parseUsualLogBody({ metrics: [{ key: "a", step: 1, value: 1, extra: 1 }] })).toBeUndefined();
    expect(parseUsualLogBody({ metrics: [{ key: "a", step: 1, value: 1 }], texts: [{ key: "t", step: 1 }] })).toBeUndefined();
  });
});
