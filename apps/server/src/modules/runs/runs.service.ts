// Run lifecycle: idempotent create (client id → 200 on repeat), merge-updates, heartbeat, finish, list.
import type { Db } from "@swanhouse/db";
import type { CreateRunBody, ListRunsQuery, Run, RunStatus, UpdateRunBody } from "@swanhouse/contracts";
import type { Clock } from "../../app.js";
import type { Realtime } from "../../plugins/socket.js";
import type { Actor, UserActor } from "../../plugins/auth.js";
import { Conflict, Forbidden, NotFound } from "../../lib/errors.js";
import { newRunId, newUuid } from "../../lib/ids.js";
import { stripNul } from "../../lib/text.js";
import { csvLine, flattenJson, jsonCell } from "../../lib/csv.js";
import { iso, isoOrNull, storedValueToWire } from "../../lib/serialize.js";
import { ADMIN_ROLES, WRITE_ROLES, type AccessService } from "../access/access.service.js";
import { createRunsRepo, deleteRuns, runInclude, toMetricSummary, toRun } from "./runs.repo.js";

type Deps = { db: Pick<Db, "prisma">; clock: Clock; realtime: Pick<Realtime, "runUpdated" | "runDeleted">; access: AccessService };

/** A run with millions of points takes seconds to delete; Prisma's default transaction limit is 5 s. */
const DELETE_TIMEOUT_MS = 120_000;

/** Told the ids of deleted runs, after the commit (the SwanLab module removes their stored files). */
export type RunsDeletedListener = (runIds: string[]) => Promise<void>;

export function createRunsService(deps: Deps) {
  const { prisma } = deps.db;
  const repo = createRunsRepo(deps.db);
  const deletedListeners: RunsDeletedListener[] = [];
  const endedListeners: Array<(run: Run) => void> = [];

  /** The project to write into, created on first use when the actor may write to the workspace. */
  async function projectForWrite(actor: UserActor, workspaceName: string, projectName: string) {
    const ws = await prisma.workspace.findUnique({ where: { name: workspaceName } });
    const role = ws ? await deps.access.roleIn(actor, ws.id) : null;
    if (!ws || !role) throw NotFound(`workspace '${workspaceName}' not found`);
    if (!WRITE_ROLES.has(role)) throw Forbidden(`role '${role}' cannot create runs in workspace '${workspaceName}'`);
    return prisma.project.upsert({
      where: { workspaceId_name: { workspaceId: ws.id, name: projectName } },
      create: { id: newUuid(), workspaceId: ws.id, name: projectName },
      update: {},
    });
  }

  async function create(actor: UserActor, raw: CreateRunBody): Promise<{ run: Run; created: boolean }> {
    const body = stripNul(raw);
    const project = await projectForWrite(actor, body.workspace ?? actor.username, body.project);
    if (body.id) {
      const existing = await repo.byId(body.id);
      if (existing) {
        if (existing.projectId !== project.id) throw Conflict(`run id '${body.id}' belongs to another project`, "id");
        // Creating an existing run again is a resume: an ended run is running again.
        if (existing.status !== "running") return { run: await setStatus(existing.id, "running"), created: false };
        return { run: toRun(existing), created: false };
      }
    }
    const id = body.id ?? newRunId();
    const now = deps.clock.now();
    try {
      const row = await prisma.run.create({
        data: {
          id,
          projectId: project.id,
          name: body.name ?? `run-${id.slice(0, 8)}`,
          description: body.description ?? "",
          tags: body.tags ?? [],
          config: (body.config ?? {}) as object,
          createdById: actor.userId,
          createdAt: now,
          lastHeartbeatAt: now,
        },
        include: runInclude,
      });
      await prisma.project.update({ where: { id: project.id }, data: { updatedAt: now } });
      const run = toRun(row);
      deps.realtime.runUpdated(run);
      return { run, created: true };
    } catch (err) {
      // Two creates with the same client id raced: the loser answers like a repeat.
      if ((err as { code?: string }).code === "P2002" && body.id) return create(actor, body);
      throw err;
    }
  }

  async function update(actor: Actor, id: string, raw: UpdateRunBody): Promise<Run> {
    const body = stripNul(raw);
    await deps.access.runFor(actor, id, "write");
    await prisma.$transaction(async (tx) => {
      await createRunsRepo({ prisma: tx as never }).mergeJson(id, body);
      const plain: Record<string, unknown> = {};
      if (body.name !== undefined) plain.name = body.name;
      if (body.requirements !== undefined) plain.requirements = body.requirements;
      if (body.description !== undefined) plain.description = body.description;
      if (body.tags !== undefined) plain.tags = body.tags;
      if (Object.keys(plain).length) await tx.run.update({ where: { id }, data: plain });
    });
    return publish(id);
  }

  async function heartbeat(actor: Actor, id: string): Promise<Run> {
    await deps.access.runFor(actor, id, "write");
    const row = await prisma.run.update({ where: { id }, data: { lastHeartbeatAt: deps.clock.now() }, include: runInclude });
    return toRun(row);
  }

  async function finish(actor: Actor, id: string, state: Exclude<RunStatus, "running">): Promise<Run> {
    await deps.access.runFor(actor, id, "write");
    return setStatus(id, state);
  }

  async function setStatus(id: string, state: RunStatus): Promise<Run> {
    const now = deps.clock.now();
    const data = { status: state, finishedAt: state === "running" ? null : now, lastHeartbeatAt: now };
    // Only a change of state is news for the onEnded listeners (finishing twice notifies once).
    const { count: changed } = await prisma.run.updateMany({ where: { id, status: { not: state } }, data });
    if (!changed) await prisma.run.update({ where: { id }, data });
    return changed ? publishStatus(id) : publish(id);
  }

  /** publish(), then the onEnded listeners when the run has just ended (finished, crashed, aborted). */
  async function publishStatus(id: string): Promise<Run> {
    const run = await publish(id);
    if (run.status !== "running") for (const listener of endedListeners) listener(run);
    return run;
  }

  /** `listener` hears each run that ends, once, after the commit; it must not throw (fire and forget). */
  const onEnded = (listener: (run: Run) => void) => void endedListeners.push(listener);

  async function publish(id: string): Promise<Run> {
    const row = await repo.byId(id);
    if (!row) throw NotFound(`run '${id}' not found`);
    const run = toRun(row);
    deps.realtime.runUpdated(run);
    return run;
  }

  /** Deletes a run and its data: the workspace's owners and admins, or its creator while a member. */
  async function remove(actor: Actor, id: string): Promise<void> {
    const { run, role, workspace } = await deps.access.runFor(actor, id, "write");
    const creator = actor.kind === "user" && run.createdById === actor.userId;
    if (!(role && (ADMIN_ROLES.has(role) || creator))) {
      throw Forbidden(`role '${role}' can delete only the runs it created in '${workspace.name}'`);
    }
    await prisma.$transaction((tx) => deleteRuns(tx, [id]), { timeout: DELETE_TIMEOUT_MS });
    await runsDeleted([id], run.projectId);
  }

  /** Deletes a project with its runs and their data (the caller checked the role). The project row is
   * locked first, so no run can be created in it meanwhile (runs.project_id's key check waits). */
  async function removeProject(projectId: string): Promise<void> {
    const ids = await prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM projects WHERE id = ${projectId}::uuid FOR UPDATE`;
      const runIds = (await tx.run.findMany({ where: { projectId }, select: { id: true } })).map((r) => r.id);
      await deleteRuns(tx, runIds);
      await tx.project.delete({ where: { id: projectId } }); // fine_tune_jobs: ON DELETE CASCADE
      return runIds;
    }, { timeout: DELETE_TIMEOUT_MS });
    await runsDeleted(ids, projectId);
  }

  /** After the commit: subscribers of the runs and their project hear of it, then the listeners. */
  async function runsDeleted(ids: string[], projectId: string) {
    for (const runId of ids) deps.realtime.runDeleted({ runId, projectId });
    for (const listener of deletedListeners) await listener(ids);
  }

  const onDeleted = (listener: RunsDeletedListener) => void deletedListeners.push(listener);

  async function get(actor: Actor, id: string) {
    const { run } = await deps.access.runFor(actor, id, "read");
    const row = await repo.byId(run.id);
    const series = await repo.series(run.id);
    return { run: toRun(row!), metrics: series.map(toMetricSummary) };
  }

  async function list(actor: Actor, workspace: string, projectName: string, q: ListRunsQuery) {
    const { project } = await deps.access.projectFor(actor, workspace, projectName, "read");
    const where = {
      projectId: project.id,
      ...(q.status ? { status: q.status } : {}),
      ...(q.tag ? { tags: { has: q.tag } } : {}),
      ...(q.name ? { name: { contains: q.name, mode: "insensitive" as const } } : {}),
    };
    const offset = q.cursor ? Number.parseInt(Buffer.from(q.cursor, "base64url").toString(), 10) || 0 : 0;
    const [total, rows] = await Promise.all([
      prisma.run.count({ where }),
      prisma.run.findMany({ where, include: runInclude, orderBy: [{ [q.sort]: q.order }, { id: "asc" }], skip: offset, take: q.limit }),
    ]);
    const series = await repo.seriesForRuns(rows.map((r) => r.id));
    const byRun = new Map<string, ReturnType<typeof toMetricSummary>[]>();
    for (const s of series) (byRun.get(s.runId) ?? byRun.set(s.runId, []).get(s.runId)!).push(toMetricSummary(s));
    const next = offset + rows.length < total ? Buffer.from(String(offset + rows.length)).toString("base64url") : null;
    return { runs: rows.map((r) => ({ ...toRun(r), metrics: byRun.get(r.id) ?? [] })), nextCursor: next, total };
  }

  /**
   * The project's runs table as CSV, oldest first: the run's fields, then its config (dotted keys, as
   * `config.<key>`), then the last value of each of its own (not system) scalar metrics.
   */
  async function exportCsv(actor: Actor, workspace: string, projectName: string): Promise<string> {
    const { project } = await deps.access.projectFor(actor, workspace, projectName, "read");
    const rows = await prisma.run.findMany({ where: { projectId: project.id }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
    const series = (await repo.seriesForRuns(rows.map((r) => r.id))).filter((s) => !s.isSystem);
    const configs = new Map(rows.map((r) => [r.id, flattenJson((r.config ?? {}) as Record<string, unknown>)]));
    const configKeys = [...new Set([...configs.values()].flatMap((c) => [...c.keys()]))].sort();
    const metricKeys = [...new Set(series.map((s) => s.key))].sort();
    const last = new Map(series.map((s) => [`${s.runId}\u0000${s.key}`, storedValueToWire(s.lastValue)]));
    const lines = [csvLine(["id", "name", "status", "created_at", "finished_at", "duration_s", "tags", "description", ...configKeys.map((k) => `config.${k}`), ...metricKeys])];
    for (const r of rows) {
      const end = r.finishedAt ?? r.lastHeartbeatAt;
      lines.push(csvLine([
        r.id, r.name, r.status, iso(r.createdAt), isoOrNull(r.finishedAt) ?? "",
        String((end.getTime() - r.createdAt.getTime()) / 1000), r.tags.join(";"), r.description,
        ...configKeys.map((k) => jsonCell(configs.get(r.id)!.get(k))),
        ...metricKeys.map((k) => jsonCell(last.get(`${r.id}\u0000${k}`) ?? undefined)),
      ]));
    }
    return lines.join("\n") + "\n";
  }

  return { create, update, heartbeat, finish, remove, removeProject, onDeleted, onEnded, setStatus, get, list, exportCsv, publish, publishStatus };
}
export type RunsService = ReturnType<typeof createRunsService>;
