// Ingestion (all or nothing, duplicates ignored, NaN/±Infinity as strings, limits) and reading back:
// downsampled series (min, max and last of each bucket survive), texts, paged logs, CSV.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createRun, createUser, startHarness, type Harness, type TestUser } from "./harness.js";

let h: Harness;
let u: TestUser;
beforeAll(async () => {
  h = await startHarness({ BODY_LIMIT_BYTES: String(2 * 1024 * 1024) });
  u = await createUser(h.app);
});
afterAll(async () => { await h.close(); });

const log = (runId: string, body: unknown, as: TestUser | null = u) => call(h.app, "POST", `/api/v1/runs/${runId}/log`, { as: as ?? undefined, body });
const count = async (runId: string) => {
  const { rows } = await h.db.pool.query<{ p: number; t: number; l: number; s: number }>(
    `SELECT (SELECT count(*)::int FROM scalar_points WHERE run_id = $1) AS p, (SELECT count(*)::int FROM text_items WHERE run_id = $1) AS t,
            (SELECT count(*)::int FROM log_lines WHERE run_id = $1) AS l, (SELECT count(*)::int FROM metric_series WHERE run_id = $1) AS s`, [runId]);
  return rows[0]!;
};
/** A key's scalar_rollups as stored, and as recomputed from its points. */
const rollups = async (runId: string, key: string) => {
  const recompute = `
    SELECT c.block, c.n, lo.step AS min_step, lo.value::text AS min_value, hi.step AS max_step, hi.value::text AS max_value, la.step AS last_step, la.value::text AS last_value
    FROM (SELECT step / 256 AS block, count(*)::int AS n FROM scalar_points WHERE run_id = $1 AND key = $2 GROUP BY 1) c
    JOIN (SELECT DISTINCT ON (step / 256) step / 256 AS block, step, value FROM scalar_points WHERE run_id = $1 AND key = $2 ORDER BY step / 256, value, step) lo USING (block)
    JOIN (SELECT DISTINCT ON (step / 256) step / 256 AS block, step, value FROM scalar_points WHERE run_id = $1 AND key = $2 ORDER BY step / 256, value DESC, step) hi USING (block)
    JOIN (SELECT DISTINCT ON (step / 256) step / 256 AS block, step, value FROM scalar_points WHERE run_id = $1 AND key = $2 ORDER BY step / 256, step DESC) la USING (block)
    ORDER BY block`;
  const expected = (await h.db.pool.query(recompute, [runId, key])).rows;
  const actual = (await h.db.pool.query(`SELECT block, count AS n, min_step, min_value::text AS min_value, max_step, max_value::text AS max_value, last_step, last_value::text AS last_value
    FROM scalar_rollups WHERE run_id = $1 AND key = $2 ORDER BY block`, [runId, key])).rows;
  return { expected, actual };
};

describe("log", () => {
  it("is all or nothing: one bad entry → 400 naming the field, nothing stored", async () => {
    const run = await createRun(h.app, u);
    const metrics = Array.from({ length: 6 }, (_, i) => ({ key: "loss", step: i, value: i / 10 })) as Array<Record<string, unknown>>;
    metrics[3] = { key: "loss", step: 3, value: "high" };
    const res = await log(run.id, { metrics, texts: [{ key: "t", step: 0, text: "x" }], logs: [{ message: "m" }] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_error");
    expect(res.body.error.field).toBe("body.metrics.3.value");
    expect(res.body.error.message).toContain("body.metrics.3.value");
    expect(await count(run.id)).toEqual({ p: 0, t: 0, l: 0, s: 0 });
    const negStep = await log(run.id, { metrics: [{ key: "loss", step: 0, value: 1 }, { key: "loss", step: -1, value: 1 }] });
    expect(negStep.body.error.field).toBe("body.metrics.1.step");
    const badText = await log(run.id, { texts: [{ key: "t", step: 0, text: 5 }] });
    expect(badText.body.error.field).toBe("body.texts.0.text");
    const badLevel = await log(run.id, { logs: [{ level: "loud", message: "m" }] });
    expect(badLevel.body.error.field).toBe("body.logs.0.level");
    expect(await count(run.id)).toEqual({ p: 0, t: 0, l: 0, s: 0 });
  });

  it("a database-level failure rolls the whole batch back", async () => {
    const run = await createRun(h.app, u);
    // Valid input that the database refuses: the texts insert fails after the points insert ran.
    await h.db.pool.query(`CREATE FUNCTION refuse_text() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.text = 'boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_text BEFORE INSERT ON text_items FOR EACH ROW EXECUTE FUNCTION refuse_text();`);
    try {
      const res = await log(run.id, { metrics: [{ key: "ok", step: 1, value: 1 }], texts: [{ key: "t", step: 1, text: "boom" }], logs: [{ message: "m" }] });
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe("internal");
      expect(await count(run.id)).toEqual({ p: 0, t: 0, l: 0, s: 0 });
    } finally {
      await h.db.pool.query("DROP TRIGGER refuse_text ON text_items; DROP FUNCTION refuse_text()");
    }
  });

  it("refuses values PostgreSQL cannot store with 400, not 500", async () => {
    const run = await createRun(h.app, u);
    const farTime = await log(run.id, { metrics: [{ key: "ok", step: 1, value: 1 }], texts: [{ key: "t", step: 1, text: "x", time: 1e20 }] });
    expect(farTime.status).toBe(400);
    expect(farTime.body.error.field).toBe("body.texts.0.time");
    const nul = await log(run.id, { logs: [{ message: "a\u0000b" }] });
    expect(nul.status).toBe(400);
    expect(nul.body.error.field).toBe("body.logs.0.message");
    const nulText = await log(run.id, { texts: [{ key: "t", step: 1, text: "x", caption: "\u0000" }] });
    expect(nulText.body.error.field).toBe("body.texts.0.caption");
    const ok = await log(run.id, { metrics: [{ key: "ok", step: 1, value: 1, time: "2026-01-02T03:04:05.678Z" }], logs: [{ message: "ünïcödé ✓", time: 1_700_000_000_000 }] });
    expect(ok.status).toBe(200);
    const series = await call(h.app, "GET", `/api/v1/runs/${run.id}/metrics?key=ok`, { as: u });
    expect(series.body.points[0].time).toBe("2026-01-02T03:04:05.678Z");
    const logs = await call(h.app, "GET", `/api/v1/runs/${run.id}/logs`, { as: u });
    expect(logs.body.logs[0]).toMatchObject({ message: "ünïcödé ✓", time: new Date(1_700_000_000_000).toISOString() });
  });

  it("ignores duplicates on re-send (first write wins) and counts only new rows", async () => {
    const run = await createRun(h.app, u);
    const body = { metrics: [{ key: "acc", step: 1, value: 0.5 }, { key: "acc", step: 2, value: 0.6 }], logs: [{ message: "a", seq: 0 }, { message: "b", seq: 1 }], texts: [{ key: "p", step: 1, text: "hi" }] };
    expect((await log(run.id, body)).body).toEqual({ accepted: { metrics: 2, texts: 1, logs: 2 } });
    expect((await log(run.id, body)).body).toEqual({ accepted: { metrics: 0, texts: 0, logs: 0 } });
    const mixed = await log(run.id, { metrics: [{ key: "acc", step: 2, value: 99 }, { key: "acc", step: 3, value: 0.7 }] });
    expect(mixed.body.accepted.metrics).toBe(1);
    const series = await call(h.app, "GET", `/api/v1/runs/${run.id}/metrics?key=acc`, { as: u });
    expect(series.body.points.map((p: { step: number; value: number }) => [p.step, p.value])).toEqual([[1, 0.5], [2, 0.6], [3, 0.7]]);
    const detail = await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: u });
    expect(detail.body.metrics).toContainEqual(expect.objectContaining({ key: "acc", kind: "scalar", lastStep: 3, lastValue: 0.7, count: 3 }));
    expect(await count(run.id)).toMatchObject({ p: 3, t: 1, l: 2 });
  });

  it("a batch mixing new, re-sent and repeated points keeps the series and rollups right", async () => {
    const run = await createRun(h.app, u);
    const first = Array.from({ length: 1_000 }, (_, s) => ({ key: "m", step: s, value: Math.cos(s / 50) }));
    expect((await log(run.id, { metrics: first })).body.accepted.metrics).toBe(1_000);
    // 500 re-sent steps with other values (ignored), 500 new ones out of order, a new step twice (the
    // first wins), and a second key: the summaries must count only what was stored.
    const resent = Array.from({ length: 500 }, (_, i) => ({ key: "m", step: 500 + i, value: -1e6 }));
    const fresh = Array.from({ length: 500 }, (_, i) => ({ key: "m", step: 1_499 - i, value: i === 7 ? 1e6 : Math.sin(i) }));
    const body = { metrics: [...fresh.slice(0, 250), ...resent, { key: "m", step: 1_300, value: -5e5 }, ...fresh.slice(250), { key: "other", step: 3, value: 2 }] };
    expect((await log(run.id, body)).body.accepted.metrics).toBe(501);
    const { expected, actual } = await rollups(run.id, "m");
    expect(actual.length).toBe(6);
    expect(actual).toEqual(expected);
    const stored = await h.db.pool.query("SELECT step, value FROM scalar_points WHERE run_id = $1 AND key = 'm' AND step IN (600, 1300, 1492)", [run.id]);
    expect(stored.rows).toEqual([{ step: 600, value: Math.cos(600 / 50) }, { step: 1300, value: Math.sin(199) }, { step: 1492, value: 1e6 }]);
    const detail = await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: u });
    expect(detail.body.metrics).toContainEqual(expect.objectContaining({ key: "m", count: 1_500, lastStep: 1_499, lastValue: Math.sin(0) }));
    expect(detail.body.metrics).toContainEqual(expect.objectContaining({ key: "other", count: 1, lastStep: 3, lastValue: 2 }));
  });

  it("NaN, Infinity and -Infinity round trip as strings (series, run detail, CSV)", async () => {
    const run = await createRun(h.app, u);
    const values = [1.5, "NaN", "Infinity", "-Infinity", -2];
    const res = await log(run.id, { metrics: values.map((value, step) => ({ key: "loss", step, value })) });
    expect(res.status).toBe(200);
    const series = await call(h.app, "GET", `/api/v1/runs/${run.id}/metrics?key=loss`, { as: u });
    expect(series.body.points.map((p: { value: unknown }) => p.value)).toEqual(values);
    const { rows } = await h.db.pool.query<{ v: string }>("SELECT value::text AS v FROM scalar_points WHERE run_id = $1 ORDER BY step", [run.id]);
    expect(rows.map((r) => r.v)).toEqual(["1.5", "NaN", "Infinity", "-Infinity", "-2"]);
    const detail = await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: u });
    expect(detail.body.metrics[0]).toMatchObject({ key: "loss", lastValue: -2 });
    await log(run.id, { metrics: [{ key: "loss", step: 9, value: "-Infinity" }] });
    expect((await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: u })).body.metrics[0].lastValue).toBe("-Infinity");
    const csv = await call(h.app, "GET", `/api/v1/runs/${run.id}/export.csv`, { as: u });
    expect(csv.text).toContain("1,NaN");
    expect(csv.text).toContain("3,-Infinity");
    const bad = await log(run.id, { metrics: [{ key: "loss", step: 10, value: "nan" }] });
    expect(bad.body.error.field).toBe("body.metrics.0.value");
  });

  it("enforces the limits: 10,001 entries, malformed JSON, oversized body, long key, unknown run, no key", async () => {
    const run = await createRun(h.app, u);
    const many = await log(run.id, { metrics: Array.from({ length: 10_001 }, (_, i) => ({ key: "k", step: i, value: 1 })) });
    expect(many.status).toBe(400);
    expect(many.body.error.message).toMatch(/10,?000/);
    const mixed = await log(run.id, { metrics: Array.from({ length: 9_000 }, (_, i) => ({ key: "k", step: i, value: 1 })), logs: Array.from({ length: 1_001 }, () => ({ message: "x" })) });
    expect(mixed.status).toBe(400);
    const exactly = await log(run.id, { metrics: Array.from({ length: 10_000 }, (_, i) => ({ key: "k", step: i, value: 1 })) });
    expect(exactly.body.accepted.metrics).toBe(10_000);

    const malformed = await h.app.inject({ method: "POST", url: `/api/v1/runs/${run.id}/log`, headers: { ...u.auth, "content-type": "application/json" }, payload: '{"metrics": [' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatchObject({ code: "invalid_json", field: "body" });

    const big = await h.app.inject({ method: "POST", url: `/api/v1/runs/${run.id}/log`, headers: { ...u.auth, "content-type": "application/json" }, payload: JSON.stringify({ logs: [{ message: "x".repeat(3 * 1024 * 1024) }] }) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe("body_too_large");

    const longKey = await log(run.id, { metrics: [{ key: "k".repeat(256), step: 0, value: 1 }] });
    expect(longKey.status).toBe(400);
    expect(longKey.body.error.field).toBe("body.metrics.0.key");
    expect((await log(run.id, { metrics: [{ key: "k".repeat(255), step: 0, value: 1 }] })).status).toBe(200);

    const unknown = await log("no-such-run", { metrics: [{ key: "k", step: 0, value: 1 }] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain("no-such-run");
    const noKey = await log(run.id, { metrics: [{ key: "k", step: 0, value: 1 }] }, null);
    expect(noKey.status).toBe(401);
    expect(noKey.body.error.code).toBeTruthy();
    expect(await count(run.id)).toMatchObject({ p: 10_001 });
  });
});

// With an API key, points are stored by one statement that also checks the key and the run's write
// access (metrics.repo.ts, `writer`); a refusal falls back to the general path for the error. Each case
// checks that a refused request wrote nothing, the run's heartbeat included.
describe("log with an API key (the one-statement path)", () => {
  const heartbeat = async (runId: string) =>
    (await h.db.pool.query<{ t: Date }>("SELECT last_heartbeat_at AS t FROM runs WHERE id = $1", [runId])).rows[0]!.t.getTime();
  const points = (step: number) => ({ metrics: [{ key: "loss", step, value: 1 }, { key: "acc", step, value: 0.5 }] });

  it("stores with a member's key and records the key's use; refuses revoked keys, viewers and removed members", async () => {
    const owner = await createUser(h.app);
    const team = `team${Date.now().toString(36)}`;
    expect((await call(h.app, "POST", "/api/v1/teams", { as: owner, body: { name: team } })).status).toBe(201);
    const [member, viewer] = [await createUser(h.app), await createUser(h.app)];
    for (const [x, role] of [[member, "member"], [viewer, "viewer"]] as const) {
      expect((await call(h.app, "POST", `/api/v1/workspaces/${team}/members`, { as: owner, body: { username: x.username, role } })).status).toBe(201);
    }
    const run = await createRun(h.app, owner, { workspace: team, project: "p" });

    // A key used for nothing but /log gets its last-used time.
    const fresh = await call(h.app, "POST", "/api/v1/api-keys", { as: { cookie: member.cookie }, body: { name: "logger" } });
    const memberKey = { ...member, auth: { authorization: `Bearer ${fresh.body.key}` } };
    expect((await log(run.id, points(0), memberKey)).body.accepted.metrics).toBe(2);
    const keys = await call(h.app, "GET", "/api/v1/api-keys", { as: { cookie: member.cookie } });
    expect(keys.body.apiKeys.find((k: { name: string }) => k.name === "logger").lastUsedAt).not.toBeNull();

    const before = { rows: await count(run.id), beat: await heartbeat(run.id) };
    const refused = async (as: TestUser, status: number) => {
      expect((await log(run.id, points(1), as)).status).toBe(status);
      expect(await count(run.id)).toEqual(before.rows);
      expect(await heartbeat(run.id)).toBe(before.beat);
    };
    await refused(viewer, 403);
    await refused({ ...member, auth: { authorization: `Bearer ${fresh.body.key}x` } }, 401);
    expect((await call(h.app, "DELETE", `/api/v1/api-keys/${fresh.body.apiKey.id}`, { as: { cookie: member.cookie } })).status).toBe(200);
    await refused(memberKey, 401);
    expect((await call(h.app, "DELETE", `/api/v1/workspaces/${team}/members/${member.username}`, { as: owner })).status).toBe(200);
    await refused(member, 404);
    expect((await log("no-such-run", points(1), owner)).status).toBe(404);

    // The owner's key still writes, and a session cookie takes the general path.
    expect((await log(run.id, points(1), owner)).body.accepted.metrics).toBe(2);
    expect((await call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as: { cookie: owner.cookie }, body: points(2) })).body.accepted.metrics).toBe(2);
    expect(await count(run.id)).toMatchObject({ p: 6, s: 2 });
  });
});

describe("series", () => {
  let runId: string;
  const N = 9_000;
  const value = (s: number) => (s === 4_321 ? 1_000 : s === 7_777 ? -1_000 : Math.sin(s / 100));
  beforeAll(async () => {
    runId = (await createRun(h.app, u)).id;
    const metrics = Array.from({ length: N }, (_, s) => ({ key: "train/loss", step: s, value: value(s) }));
    expect((await log(runId, { metrics })).body.accepted.metrics).toBe(N);
  });

  it("downsamples keeping the spikes, the dips and the last point", async () => {
    const res = await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=train/loss&maxPoints=300`, { as: u });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ key: "train/loss", total: N, downsampled: true });
    const pts = res.body.points as Array<{ step: number; value: number }>;
    expect(pts.length).toBeLessThanOrEqual(300);
    expect(pts.length).toBeGreaterThan(150);
    expect(pts).toContainEqual(expect.objectContaining({ step: 4_321, value: 1_000 }));
    expect(pts).toContainEqual(expect.objectContaining({ step: 7_777, value: -1_000 }));
    expect(pts.at(-1)).toMatchObject({ step: N - 1, value: value(N - 1) });
    expect(pts[0]!.step).toBe(0); // sin is rising at 0: step 0 is its bucket's min
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.step).toBeGreaterThan(pts[i - 1]!.step);
    for (const p of pts) expect(p.value).toBe(value(p.step)); // real points, not averages
  });

  it("answers full resolution when maxPoints ≥ count", async () => {
    const res = await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=train/loss&maxPoints=${N}`, { as: u });
    expect(res.body.downsampled).toBe(false);
    expect(res.body.points).toHaveLength(N);
    expect(res.body.points.map((p: { step: number }) => p.step)).toEqual(Array.from({ length: N }, (_, i) => i));
  });

  it("zooms with minStep/maxStep", async () => {
    const full = await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=train/loss&minStep=4300&maxStep=4400&maxPoints=1000`, { as: u });
    expect(full.body).toMatchObject({ total: 101, downsampled: false });
    expect(full.body.points.map((p: { step: number }) => p.step)).toEqual(Array.from({ length: 101 }, (_, i) => 4300 + i));
    const zoom = await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=train/loss&minStep=4000&maxStep=5000&maxPoints=30`, { as: u });
    expect(zoom.body).toMatchObject({ total: 1001, downsampled: true });
    const steps = zoom.body.points.map((p: { step: number }) => p.step);
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(4000);
    expect(Math.max(...steps)).toBe(5000);
    expect(steps).toContain(4_321);
    expect(steps).not.toContain(7_777);
    expect(zoom.body.points.length).toBeLessThanOrEqual(30);
  });

  it("answers an unknown key with no points and validates the query", async () => {
    const none = await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=nope`, { as: u });
    expect(none.body).toMatchObject({ total: 0, points: [] });
    expect((await call(h.app, "GET", `/api/v1/runs/${runId}/metrics`, { as: u })).body.error.field).toBe("querystring.key");
    expect((await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=a&maxPoints=1`, { as: u })).body.error.field).toBe("querystring.maxPoints");
  });
});

describe("long series (read from scalar_rollups)", () => {
  let runId: string;
  const N = 80_000; // above the 50k-point threshold where the rollups take over
  const special: Record<number, number | string> = { 1_000: 500, 33_333: -500, 70_001: "NaN", 79_999: 7 };
  const value = (s: number): number | string => special[s] ?? Math.cos(s / 500);
  beforeAll(async () => {
    runId = (await createRun(h.app, u)).id;
    // Odd steps first, then even ones: every block is written twice, so the rollup merge is exercised.
    for (const parity of [1, 0]) {
      const steps = Array.from({ length: N / 2 }, (_, i) => 2 * i + parity);
      for (let i = 0; i < steps.length; i += 10_000) {
        const metrics = steps.slice(i, i + 10_000).map((st) => ({ key: "long", step: st, value: value(st) }));
        expect((await log(runId, { metrics })).body.accepted.metrics).toBe(metrics.length);
      }
    }
  });

  it("keeps the rollups equal to a recomputation from the points", async () => {
    const { expected, actual } = await rollups(runId, "long");
    expect(actual.length).toBe(Math.ceil(N / 256));
    expect(actual).toEqual(expected);
    // A re-sent batch changes nothing.
    await log(runId, { metrics: [{ key: "long", step: 0, value: -1e9 }] });
    expect((await h.db.pool.query(`SELECT min_value FROM scalar_rollups WHERE run_id = $1 AND key = 'long' AND block = 0`, [runId])).rows[0].min_value).not.toBe(-1e9);
  });

  it("downsamples keeping spikes, dips, NaN and the last point", async () => {
    const res = await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=long&maxPoints=600`, { as: u });
    expect(res.body).toMatchObject({ total: N, downsampled: true });
    const pts = res.body.points as Array<{ step: number; value: number | string }>;
    expect(pts.length).toBeLessThanOrEqual(600);
    expect(pts.length).toBeGreaterThan(300);
    for (const [st, v] of Object.entries(special)) expect(pts).toContainEqual(expect.objectContaining({ step: Number(st), value: v }));
    expect(pts.at(-1)!.step).toBe(N - 1);
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.step).toBeGreaterThan(pts[i - 1]!.step);
    for (const p of pts) expect(p.value).toEqual(value(p.step));
  });

  it("zooms on a range that does not start or end on a block", async () => {
    // 999 and 60,500 fall inside blocks: the partial blocks are read as points.
    const res = await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=long&minStep=999&maxStep=60500&maxPoints=300`, { as: u });
    expect(res.body).toMatchObject({ total: 60500 - 999 + 1, downsampled: true });
    const steps = (res.body.points as Array<{ step: number }>).map((p) => p.step);
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(999);
    expect(Math.max(...steps)).toBe(60500);
    expect(steps).toContain(1_000);
    expect(steps).toContain(33_333);
    expect(steps).not.toContain(70_001);
    expect(steps.length).toBeLessThanOrEqual(300);
    const tiny = await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=long&minStep=1000&maxStep=1000`, { as: u });
    expect(tiny.body).toMatchObject({ total: 1, downsampled: false, points: [expect.objectContaining({ step: 1000, value: 500 })] });
    const full = await call(h.app, "GET", `/api/v1/runs/${runId}/metrics?key=long&maxPoints=${N}`, { as: u });
    expect(full.body).toMatchObject({ total: N, downsampled: false });
    expect(full.body.points).toHaveLength(N);
  });
});

describe("rollup downsampling equals a brute-force reference", () => {
  it("with ties, NaN, ±Infinity, gaps and shuffled batches, on random ranges", async () => {
    const run = await createRun(h.app, u);
    let seed = 42;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
    const special = ["NaN", "Infinity", "-Infinity"] as const;
    const points: Array<{ step: number; value: number | string }> = [];
    for (let step = 0; points.length < 70_000; step += 1 + Math.floor(rand() * 3)) {
      const r = rand();
      points.push({ step, value: r < 0.002 ? special[Math.floor(rand() * 3)]! : Math.floor(rand() * 6) });
    }
    const shuffled = [...points].sort(() => rand() - 0.5);
    for (let i = 0; i < shuffled.length; i += 10_000) {
      const metrics = shuffled.slice(i, i + 10_000).map((p) => ({ key: "rnd", ...p }));
      expect((await log(run.id, { metrics })).body.accepted.metrics).toBe(metrics.length);
    }
    const num = (v: number | string) => (typeof v === "number" ? v : v === "NaN" ? NaN : v === "Infinity" ? Infinity : -Infinity);
    const cmp = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? (Number.isNaN(a) === Number.isNaN(b) ? 0 : Number.isNaN(a) ? 1 : -1) : a < b ? -1 : a > b ? 1 : 0);
    const last = points.at(-1)!.step;
    // Ranges over 50k points are answered from the rollups (buckets of whole 256-step blocks), smaller
    // ones from the points (buckets from the first step): the reference follows the same rule.
    for (const [lo, hi, maxPoints] of [[0, last, 2000], [777, last - 555, 999], [1_234, 120_321, 300], [0, 2_147_483_647, 4000], [5_000, 60_000, 500]] as const) {
      const res = await call(h.app, "GET", `/api/v1/runs/${run.id}/metrics?key=rnd&minStep=${lo}&maxStep=${hi}&maxPoints=${maxPoints}`, { as: u });
      const inRange = points.filter((p) => p.step >= lo && p.step <= hi);
      expect(res.body).toMatchObject({ total: inRange.length, downsampled: true });
      const fromRollups = inRange.length > 50_000;
      const to = inRange.at(-1)!.step;
      const from = fromRollups ? Math.floor(lo / 256) * 256 : inRange[0]!.step;
      const n = Math.floor(maxPoints / 3);
      const width = fromRollups ? Math.ceil((to - from + 1) / n / 256) * 256 : Math.max(1, Math.ceil((to - from + 1) / n));
      const buckets = new Map<number, { min: (typeof points)[number]; max: (typeof points)[number]; last: (typeof points)[number] }>();
      for (const p of inRange) {
        const g = Math.floor((p.step - from) / width);
        const b = buckets.get(g);
        if (!b) { buckets.set(g, { min: p, max: p, last: p }); continue; }
        const cMin = cmp(num(p.value), num(b.min.value));
        if (cMin < 0) b.min = p;
        if (cmp(num(p.value), num(b.max.value)) > 0) b.max = p;
        b.last = p;
      }
      const expected = [...new Map([...buckets.values()].flatMap((b) => [b.min, b.max, b.last]).map((p) => [p.step, p])).values()].sort((a, b) => a.step - b.step);
      const got = (res.body.points as Array<{ step: number; value: number | string }>).map((p) => ({ step: p.step, value: p.value }));
      expect(got.length).toBeLessThanOrEqual(maxPoints);
      expect(got).toEqual(expected);
    }
  });
});

describe("texts, logs, CSV", () => {
  it("reads texts by key and step (latest step by default)", async () => {
    const run = await createRun(h.app, u);
    await log(run.id, { texts: [{ key: "pred", step: 1, text: "a", caption: "c1" }, { key: "pred", step: 1, index: 1, text: "b" }, { key: "pred", step: 5, text: "z" }, { key: "other", step: 2, text: "o" }] });
    const latest = await call(h.app, "GET", `/api/v1/runs/${run.id}/texts?key=pred`, { as: u });
    expect(latest.body.steps).toEqual([1, 5]);
    expect(latest.body.items.map((i: { text: string }) => i.text)).toEqual(["z"]);
    const one = await call(h.app, "GET", `/api/v1/runs/${run.id}/texts?key=pred&step=1`, { as: u });
    expect(one.body.items).toEqual([expect.objectContaining({ step: 1, index: 0, text: "a", caption: "c1" }), expect.objectContaining({ step: 1, index: 1, text: "b", caption: null })]);
    const detail = await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: u });
    expect(detail.body.metrics).toContainEqual(expect.objectContaining({ key: "pred", kind: "text", lastStep: 5, count: 3 }));
    expect((await call(h.app, "GET", `/api/v1/runs/${run.id}/texts?key=none`, { as: u })).body).toMatchObject({ steps: [], items: [] });
  });

  it("pages console logs in order", async () => {
    const run = await createRun(h.app, u);
    await log(run.id, { logs: Array.from({ length: 15 }, (_, i) => ({ level: i % 5 === 0 ? "error" : "info", message: `line ${i}` })) });
    await log(run.id, { logs: Array.from({ length: 10 }, (_, i) => ({ message: `line ${15 + i}` })) });
    const got: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { logs: Array<{ seq: number; message: string; level: string }>; nextCursor: string | null } } = await call(h.app, "GET", `/api/v1/runs/${run.id}/logs?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { as: u });
      got.push(...res.body.logs.map((l) => l.message));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(got).toEqual(Array.from({ length: 25 }, (_, i) => `line ${i}`));
    const after = await call(h.app, "GET", `/api/v1/runs/${run.id}/logs?afterSeq=22`, { as: u });
    expect(after.body.logs.map((l: { seq: number }) => l.seq)).toEqual([23, 24]);
    expect(after.body.nextCursor).toBeNull();
    const first = await call(h.app, "GET", `/api/v1/runs/${run.id}/logs?limit=1`, { as: u });
    expect(first.body.logs[0]).toMatchObject({ seq: 0, level: "error", message: "line 0" });
  });

  it("exports a run's scalars as CSV: step then one column per key", async () => {
    const run = await createRun(h.app, u);
    await log(run.id, { metrics: [{ key: "loss", step: 0, value: 1 }, { key: "loss", step: 1, value: 0.5 }, { key: "acc,top1", step: 1, value: 0.25 }, { key: "acc,top1", step: 2, value: 0.5 }] });
    const res = await call(h.app, "GET", `/api/v1/runs/${run.id}/export.csv`, { as: u });
    expect(res.status).toBe(200);
    expect(String(res.headers["content-type"])).toMatch(/^text\/csv/);
    expect(String(res.headers["content-disposition"])).toContain(`${run.id}.csv`);
    expect(res.text).toBe(['step,"acc,top1",loss', "0,,1", "1,0.25,0.5", "2,0.5,", ""].join("\n"));
  });
});
