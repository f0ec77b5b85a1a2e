// Replays every transcript in ./transcripts (one per SDK era plus the login rules) against a fresh server:
// each request's status and the response fields the SDK reads, then what /api/v1 shows afterwards.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, startHarness, type Harness } from "../integration/harness.js";
import { match, replay, type Transcript } from "./replay.js";

const dir = join(import.meta.dirname, "transcripts");
const transcripts = readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => ({ file: f, t: JSON.parse(readFileSync(join(dir, f), "utf8")) as Transcript }));

let h: Harness;
let dataDir: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "swanlab-replay-"));
  h = await startHarness({ SWANHOUSE_DATA_DIR: dataDir });
});
afterAll(async () => {
  await h.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function freshVars() {
  const u = await createUser(h.app);
  return { username: u.username, apiKey: u.key, dashboardCookie: u.cookie } as Record<string, unknown>;
}

describe("SwanLab SDK replay", () => {
  it("has transcripts for the three eras and the login rules", () => {
    expect(transcripts.map((x) => x.file)).toEqual(expect.arrayContaining(["login.json", "sdk-0.7.6.json", "sdk-0.8.5.json", "sdk-0.9.7.json"]));
  });
  for (const { file, t } of transcripts) {
    it(`${file}: ${t.sdk} — ${t.description}`, async () => {
      await replay(h.app, t, await freshVars());
    });
  }
  it("fails when a transcript expects something else (the harness can fail)", async () => {
    const t = structuredClone(transcripts.find((x) => x.file === "sdk-0.7.6.json")!.t);
    const resend = t.steps.findIndex((s) => s.name.startsWith("the whole batch is re-sent"));
    (t.steps[resend]!.expect.json as { accepted: number }).accepted = 7;
    await expect(replay(h.app, t, await freshVars())).rejects.toThrow(/accepted: expected 7/);
  });
});

describe("matchers", () => {
  it("checks subsets, lengths, absence and the expiredAt rule", () => {
    expect(match({ a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }, {})).toEqual([]);
    expect(match({ a: 1 }, { a: 2 }, {})).toHaveLength(1);
    expect(match({ b: [1] }, { b: [1, 2] }, {})).toHaveLength(1);
    expect(match({ log: [] }, { log: "$absent" }, {})).toHaveLength(1);
    expect(match({}, { log: "$absent" }, {})).toEqual([]);
    const now = Date.parse("2026-01-01T00:00:00.000Z");
    expect(match("2026-01-31T00:00:00.000Z", "$expiredAt", {}, "$", now)).toEqual([]);
    expect(match("2026-01-31T00:00:00Z", "$expiredAt", {}, "$", now)).toHaveLength(1);
    expect(match("2026-01-05T00:00:00.000Z", "$expiredAt", {}, "$", now)).toHaveLength(1);
    expect(match([{ k: 1 }, { k: 2 }], { $contains: [{ k: 2 }], $notContains: [{ k: 3 }] }, {})).toEqual([]);
  });
});
