// /api/v1/workspaces/:workspace/projects (list, create) and /api/v1/projects/:workspace/:project (read, update, delete).
// The list shows run counts and last activity; non-members see only public projects.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ApiError, CreateProjectBody, ListProjectsResponse, OkResponse, ProjectParams, ProjectResponse, UpdateProjectBody, WorkspaceParams } from "@swanhouse/contracts";
import { requireUser } from "../../plugins/auth.js";
import { Conflict, Forbidden, NotFound } from "../../lib/errors.js";
import { newUuid } from "../../lib/ids.js";
import { iso, isoOrNull } from "../../lib/serialize.js";
import { WRITE_ROLES, ADMIN_ROLES } from "../access/access.service.js";

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError };

export const projectRoutes: FastifyPluginAsyncZod = async (app) => {
  const { prisma } = app.deps.db;
  const access = app.services.access;

  async function withStats(rows: Array<{ id: string; name: string; description: string; visibility: "private" | "public"; createdAt: Date; updatedAt: Date }>, workspace: string) {
    const ids = rows.map((r) => r.id);
    const stats = ids.length
      ? await prisma.run.groupBy({ by: ["projectId"], where: { projectId: { in: ids } }, _count: { _all: true }, _max: { lastHeartbeatAt: true } })
      : [];
    const byId = new Map(stats.map((s) => [s.projectId, s]));
    return rows.map((r) => ({
      id: r.id, workspace, name: r.name, description: r.description, visibility: r.visibility,
      createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt),
      runCount: byId.get(r.id)?._count._all ?? 0,
      lastActivityAt: isoOrNull(byId.get(r.id)?._max.lastHeartbeatAt ?? null),
    }));
  }

  app.get("/workspaces/:workspace/projects", { schema: { tags: ["projects"], params: WorkspaceParams, response: { 200: ListProjectsResponse, ...errors } } }, async (req) => {
    const ws = await prisma.workspace.findUnique({ where: { name: req.params.workspace } });
    const role = ws ? await access.roleIn(req.actor, ws.id) : null;
    if (!ws) throw NotFound(`workspace '${req.params.workspace}' not found`);
    const rows = await prisma.project.findMany({ where: { workspaceId: ws.id, ...(role ? {} : { visibility: "public" as const }) }, orderBy: { updatedAt: "desc" } });
    if (!role && rows.length === 0) throw NotFound(`workspace '${req.params.workspace}' not found`);
    return { projects: await withStats(rows, ws.name) };
  });

  app.post("/workspaces/:workspace/projects", { schema: { tags: ["projects"], params: WorkspaceParams, body: CreateProjectBody, response: { 201: ProjectResponse, ...errors } } }, async (req, reply) => {
    const { workspace, role } = await access.workspaceForMember(requireUser(req), req.params.workspace);
    if (!WRITE_ROLES.has(role)) throw Forbidden(`role '${role}' cannot create projects in '${workspace.name}'`);
    const exists = await prisma.project.findUnique({ where: { workspaceId_name: { workspaceId: workspace.id, name: req.body.name } } });
    if (exists) throw Conflict(`project '${workspace.name}/${req.body.name}' already exists`, "name");
    const row = await prisma.project.create({ data: { id: newUuid(), workspaceId: workspace.id, name: req.body.name, description: req.body.description ?? "", visibility: req.body.visibility ?? "private" } });
    return reply.status(201).send({ project: (await withStats([row], workspace.name))[0]! });
  });

  app.get("/projects/:workspace/:project", { schema: { tags: ["projects"], params: ProjectParams, response: { 200: ProjectResponse, ...errors } } }, async (req) => {
    const { project, workspace } = await access.projectFor(req.actor, req.params.workspace, req.params.project, "read");
    return { project: (await withStats([project], workspace.name))[0]! };
  });

  app.patch("/projects/:workspace/:project", { schema: { tags: ["projects"], params: ProjectParams, body: UpdateProjectBody, response: { 200: ProjectResponse, ...errors } } }, async (req) => {
    requireUser(req);
    const { project, workspace, role } = await access.projectFor(req.actor, req.params.workspace, req.params.project, "write");
    if (req.body.visibility !== undefined && !(role && ADMIN_ROLES.has(role))) {
      throw Forbidden(`role '${role}' cannot change the visibility of '${workspace.name}/${project.name}'`);
    }
    const row = await prisma.project.update({ where: { id: project.id }, data: { ...req.body, updatedAt: new Date() } });
    return { project: (await withStats([row], workspace.name))[0]! };
  });

  app.delete("/projects/:workspace/:project", { schema: { tags: ["projects"], summary: "Delete a project, its runs and all they logged (owners and admins)", params: ProjectParams, response: { 200: OkResponse, ...errors } } }, async (req) => {
    requireUser(req);
    const { project, workspace, role } = await access.projectFor(req.actor, req.params.workspace, req.params.project, "write");
    if (!(role && ADMIN_ROLES.has(role))) throw Forbidden(`role '${role}' cannot delete project '${workspace.name}/${project.name}'`);
    // A queued or running fine-tune would report into the project again (and re-create it).
    const active = await prisma.fineTuneJob.count({ where: { projectId: project.id, status: { in: ["queued", "running"] } } });
    if (active) throw Conflict(`project '${workspace.name}/${project.name}' has ${active} queued or running fine-tune job(s): cancel them first`);
    await app.services.runs.removeProject(project.id);
    return { ok: true as const };
  });
};
