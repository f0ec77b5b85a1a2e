// Deleting runs and projects: who may, that everything a run logged goes (rows without a foreign key
// and stored files included), and that an ingest racing the delete writes nothing.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteRuns } from "../../src/modules/runs/runs.repo.js";
import { call, createRun, createUser, startHarness, type Harness, type TestUser } from "./harness.js";

let h: Harness;
let dataDir: string;
let owner: TestUser, admin: TestUser, member: TestUser, other: TestUser, viewer: TestUser, outsider: TestUser;
let team: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "swanhouse-delete-"));
  h = await startHarness({ SWANHOUSE_DATA_DIR: dataDir });
  [owner, admin, member, other, viewer, outsider] = (await Promise.all([0, 1, 2, 3, 4, 5].map(() => createUser(h.app)))) as [TestUser, TestUser, TestUser, TestUser, TestUser, TestUser];
  team = `del${Date.now().toString(36)}`;
  expect((await call(h.app, "POST", "/api/v1/teams", { as: owner, body: { name: team } })).status).toBe(201);
  for (const [u, role] of [[admin, "admin"], [member, "member"], [other, "member"], [viewer, "viewer"]] as const) {
    expect((await call(h.app, "POST", `/api/v1/workspaces/${team}/members`, { as: owner, body: { username: u.username, role } })).status).toBe(201);
  }
});
afterAll(async () => {
  await h.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Rows left for a run in every table that holds its data. */
async function rowsOf(runId: string) {
  const { rows } = await h.db.pool.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM runs WHERE id = $1) AS runs, (SELECT count(*)::int FROM scalar_points WHERE run_id = $1) AS points,
            (SELECT count(*)::int FROM scalar_rollups WHERE run_id = $1) AS rollups, (SELECT count(*)::int FROM metric_series WHERE run_id = $1) AS series,
            (SELECT count(*)::int FROM text_items WHERE run_id = $1) AS texts, (SELECT count(*)::int FROM log_lines WHERE run_id = $1) AS logs,
            (SELECT count(*)::int FROM media_files WHERE run_id = $1) AS media`, [runId]);
  return rows[0]!;
}
const none = { runs: 0, points: 0, rollups: 0, series: 0, texts: 0, logs: 0, media: 0 };

/** A run of `project` with points, texts, log lines, a media row and stored files. */
async function fullRun(by: TestUser, project: string) {
  const run = await createRun(h.app, by, { workspace: team, project });
  const body = {
    metrics: Array.from({ length: 600 }, (_, i) => ({ key: "loss", step: i, value: 1 / (i + 1) })),
    texts: [{ key: "sample", step: 0, text: "hello" }],
    logs: [{ level: "info", message: "started" }],
  };
  expect((await call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as: by, body })).status).toBe(200);
  await h.db.pool.query("INSERT INTO media_files (id, run_id, path) VALUES (gen_random_uuid(), $1, $2)", [run.id, `${run.id}/img/0-0.png`]);
  for (const dir of ["media", "uploads"]) {
    mkdirSync(join(dataDir, "objects", dir, run.id), { recursive: true });
    writeFileSync(join(dataDir, "objects", dir, run.id, "file.bin"), "x");
  }
  expect(await rowsOf(run.id)).toMatchObject({ runs: 1, points: 600, rollups: 3, series: 2, texts: 1, logs: 1, media: 1 });
  return run;
}
const filesOf = (runId: string) => ["media", "uploads"].filter((dir) => existsSync(join(dataDir, "objects", dir, runId)));

describe("DELETE /runs/:id", () => {
  it("deletes the run, every row it logged and its files; owners, admins and its creator only", async () => {
    const run = await fullRun(member, "p1");
    const del = (as?: TestUser) => call(h.app, "DELETE", `/api/v1/runs/${run.id}`, { as });
    expect((await del()).status).toBe(401);
    expect((await del(outsider)).status).toBe(404);
    expect((await del(viewer)).status).toBe(403);
    const notCreator = await del(other);
    expect(notCreator.status).toBe(403);
    expect(notCreator.body.error.message).toContain("only the runs it created");
    expect(await rowsOf(run.id)).toMatchObject({ runs: 1, points: 600 });

    expect((await del(member)).body).toEqual({ ok: true });
    expect(await rowsOf(run.id)).toEqual(none);
    expect(filesOf(run.id)).toEqual([]);
    expect((await call(h.app, "GET", `/api/v1/runs/${run.id}`, { as: member })).status).toBe(404);
    expect((await del(member)).status).toBe(404);
    expect((await call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as: member, body: { metrics: [{ key: "loss", step: 9999, value: 1 }] } })).status).toBe(404);
    expect(await rowsOf(run.id)).toEqual(none);

    // An admin may delete anyone's run; other runs keep their data.
    const [a, b] = [await fullRun(other, "p1"), await fullRun(other, "p1")];
    expect((await call(h.app, "DELETE", `/api/v1/runs/${a.id}`, { as: admin })).status).toBe(200);
    expect(await rowsOf(a.id)).toEqual(none);
    expect(await rowsOf(b.id)).toMatchObject({ runs: 1, points: 600, series: 2 });
    expect(filesOf(b.id)).toEqual(["media", "uploads"]);
  });

  it("an ingest racing the delete writes nothing and answers 404", async () => {
    for (const as of [member, { cookie: member.cookie }]) { // the one-statement path (API key) and the general one
      const run = await fullRun(member, "race");
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      // The delete takes its locks and deletes, then waits before committing.
      const deleting = h.db.prisma.$transaction(async (tx) => {
        await deleteRuns(tx, [run.id]);
        await gate;
      }, { timeout: 30_000 });
      await waitForLockedRun(run.id);
      // New points under an existing key and a new one, as the usual request.
      const ingest = call(h.app, "POST", `/api/v1/runs/${run.id}/log`, { as, body: { metrics: [{ key: "loss", step: 600, value: 0.1 }, { key: "acc", step: 600, value: 0.9 }] } });
      await waitForBlockedBackends(1); // the ingest statement waits on the delete's locks
      release();
      await deleting;
      expect((await ingest).status).toBe(404);
      expect(await rowsOf(run.id)).toEqual(none);
    }
  });
});

describe("DELETE /projects/:workspace/:project", () => {
  it("deletes the project, its runs and all they logged; owners and admins only", async () => {
    const [a, b] = [await fullRun(member, "doomed"), await fullRun(other, "doomed")];
    const keep = await fullRun(member, "kept");
    const del = (as?: TestUser) => call(h.app, "DELETE", `/api/v1/projects/${team}/doomed`, { as });
    expect((await del()).status).toBe(401);
    expect((await del(outsider)).status).toBe(404);
    expect((await del(viewer)).status).toBe(403);
    expect((await del(member)).status).toBe(403);
    // Not while a fine-tune job would still report into it.
    const job = await h.db.pool.query<{ id: string }>(
      `INSERT INTO fine_tune_jobs (id, project_id, created_by_id, run_name, device)
       SELECT gen_random_uuid(), p.id, $2::uuid, 'ft', 'cpu' FROM projects p JOIN workspaces w ON w.id = p.workspace_id
       WHERE w.name = $1 AND p.name = 'doomed' RETURNING id`,
      [team, (await h.db.prisma.user.findUniqueOrThrow({ where: { username: admin.username } })).id]);
    const busy = await del(admin);
    expect(busy.status).toBe(409);
    expect(busy.body.error.message).toContain("fine-tune job");
    await h.db.pool.query("UPDATE fine_tune_jobs SET status = 'cancelled' WHERE id = $1", [job.rows[0]!.id]);
    expect((await del(admin)).body).toEqual({ ok: true });
    expect((await h.db.pool.query("SELECT 1 FROM fine_tune_jobs WHERE id = $1", [job.rows[0]!.id])).rowCount).toBe(0);
    for (const r of [a, b]) {
      expect(await rowsOf(r.id)).toEqual(none);
      expect(filesOf(r.id)).toEqual([]);
    }
    expect((await call(h.app, "GET", `/api/v1/projects/${team}/doomed`, { as: owner })).status).toBe(404);
    expect(await rowsOf(keep.id)).toMatchObject({ runs: 1, points: 600 });
    expect((await del(owner)).status).toBe(404);
  });
});

/** Waits until another transaction holds the run's row (a NOWAIT lock attempt then fails). */
async function waitForLockedRun(runId: string) {
  for (let i = 0; i < 400; i++) {
    const locked = await h.db.pool.query("SELECT id FROM runs WHERE id = $1 FOR UPDATE NOWAIT", [runId]).then(() => false, () => true);
    if (locked) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the delete never locked the run");
}

/** Waits until at least `n` backends of this database wait on a lock. */
async function waitForBlockedBackends(n: number) {
  for (let i = 0; i < 400; i++) {
    const { rows } = await h.db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (rows[0]!.n >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} backends ever waited on a lock`);
}
