// GET /api/v1/health: 200 without credentials while the database answers; 503 (and nothing about why
// beyond "not answering") from a process whose database does not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startAppOn, startHarness, type Harness } from "./harness.js";

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h.close(); });

describe("health", () => {
  it("answers 200 without credentials while PostgreSQL answers", async () => {
    const res = await call(h.app, "GET", "/api/v1/health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok", database: "ok" });
  });

  it("answers 503 when the database is unreachable", async () => {
    // Nothing listens on port 1: every connection is refused.
    const down = await startAppOn("postgresql://nobody:nothing@127.0.0.1:1/none");
    try {
      const res = await call(down.app, "GET", "/api/v1/health");
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: "unavailable", database: "not answering" });
    } finally {
      await down.close();
    }
  });
});
