// CSV exports: a project's runs table (fields, config as config.<key>, last value of each non-system
// metric; quoting, and text a spreadsheet would run as a formula made inert) and a run's scalars, with
// the read rules of the rest of the API (a private project is not found for others, a public one is
// readable by anyone; an anonymous caller of a private one is asked to sign in).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createRun, createUser, startHarness, type Harness, type TestUser } from "./harness.js";

let h: Harness;
let u: TestUser;
beforeAll(async () => {
  h = await startHarness();
  u = await createUser(h.app);
});
afterAll(async () => { await h.close(); });

const log = (runId: string, metrics: unknown[]) => call(h.app, "POST", `/api/v1/runs/${runId}/log`, { as: u, body: { metrics } });

describe("project runs CSV", () => {
  it("has one row per run: fields, config columns, last metric values", async () => {
    const a = await createRun(h.app, u, { project: "sweep", name: "base", tags: ["x", "y"], config: { lr: 0.1, opt: { name: "adam", betas: [0.9, 0.99] } } });
    const b = await createRun(h.app, u, { project: "sweep", name: 'a, "quoted" run', config: { lr: 0.01, note: "=HYPERLINK(\"http://evil\")" } });
    await log(a.id, [{ key: "train/loss", step: 0, value: 2 }, { key: "train/loss", step: 1, value: -0.5 }, { key: "__swanlab__.cpu", step: 0, value: 50 }]);
    await log(b.id, [{ key: "train/loss", step: 0, value: "NaN" }, { key: "eval/acc", step: 0, value: 0.75 }]);
    await call(h.app, "POST", `/api/v1/runs/${a.id}/finish`, { as: u, body: { state: "finished" } });

    const res = await call(h.app, "GET", `/api/v1/projects/${u.username}/sweep/runs.csv`, { as: u });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/csv/);
    expect(res.headers["content-disposition"]).toBe(`attachment; filename="${u.username}-sweep-runs.csv"`);
    const lines = res.text.trimEnd().split("\n");
    expect(lines[0]).toBe("id,name,status,created_at,finished_at,duration_s,tags,description,config.lr,config.note,config.opt.betas,config.opt.name,eval/acc,train/loss");
    expect(lines).toHaveLength(3);
    const [rowA, rowB] = [lines[1]!.split(","), lines[2]!];
    expect(rowA.slice(0, 3)).toEqual([a.id, "base", "finished"]);
    expect(rowA[4]).toMatch(/^\d{4}-\d\d-\d\dT/); // finished_at
    expect(Number(rowA[5])).toBeGreaterThanOrEqual(0);
    expect(rowA.slice(6)).toEqual(["x;y", "", "0.1", "", '"[0.9', '0.99]"', "adam", "", "-0.5"]);
    expect(rowB).toContain(`${b.id},"a, ""quoted"" run",running,`);
    expect(rowB).toContain(`,0.01,"'=HYPERLINK(""http://evil"")",,,0.75,NaN`);
    expect(rowB).not.toContain("__swanlab__");
  });

  it("follows the read rules: private is not found for others, public is readable by anyone", async () => {
    const url = `/api/v1/projects/${u.username}/sweep/runs.csv`;
    const other = await createUser(h.app);
    expect((await call(h.app, "GET", url, { as: other })).status).toBe(404);
    expect((await call(h.app, "GET", url)).status).toBe(401); // anonymous: sign in first, as elsewhere
    await call(h.app, "PATCH", `/api/v1/projects/${u.username}/sweep`, { as: u, body: { visibility: "public" } });
    const anon = await call(h.app, "GET", url);
    expect(anon.status).toBe(200);
    expect(anon.text.split("\n")).toHaveLength(4); // header, two runs, final newline
    expect((await call(h.app, "GET", `/api/v1/projects/${u.username}/nope/runs.csv`, { as: u })).status).toBe(404);
  });
});

describe("run scalars CSV", () => {
  it("makes a metric key that looks like a formula inert", async () => {
    const run = await createRun(h.app, u, { project: "keys" });
    await log(run.id, [{ key: "=cmd|x", step: 0, value: 1 }, { key: "loss", step: 0, value: -1 }]);
    const res = await call(h.app, "GET", `/api/v1/runs/${run.id}/export.csv`, { as: u });
    expect(res.text).toBe("step,'=cmd|x,loss\n0,1,-1\n");
  });
});
