// /api/v1/workspaces and teams: list mine, read one, create a team, manage members (owner/admin).
// An owner cannot be demoted or removed while they are the last owner.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  AddMemberBody, ApiError, CreateTeamBody, ListMembersResponse, ListWorkspacesResponse, MemberParams,
  MemberResponse, OkResponse, UpdateMemberBody, WorkspaceParams, WorkspaceResponse, type MemberRole,
} from "@swanhouse/contracts";
import { requireUser } from "../../plugins/auth.js";
import { BadRequest, Conflict, Forbidden, NotFound } from "../../lib/errors.js";
import { newUuid } from "../../lib/ids.js";
import { iso } from "../../lib/serialize.js";
import { ADMIN_ROLES } from "../access/access.service.js";

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError };
type WsRow = { id: string; name: string; displayName: string | null; kind: "personal" | "team"; createdAt: Date };
const toWorkspace = (w: WsRow, role: MemberRole | null) => ({ id: w.id, name: w.name, displayName: w.displayName, kind: w.kind, role, createdAt: iso(w.createdAt) });
const toMember = (m: { userId: string; role: MemberRole; createdAt: Date; user: { username: string } }) => ({ userId: m.userId, username: m.user.username, role: m.role, createdAt: iso(m.createdAt) });

export const workspaceRoutes: FastifyPluginAsyncZod = async (app) => {
  const { prisma } = app.deps.db;
  const access = app.services.access;

  async function adminOf(req: Parameters<typeof requireUser>[0], name: string) {
    const { workspace, role } = await access.workspaceForMember(requireUser(req), name);
    if (!ADMIN_ROLES.has(role)) throw Forbidden(`role '${role}' cannot manage members of '${name}'`);
    if (workspace.kind !== "team") throw BadRequest(`'${name}' is a personal workspace: create a team to add members`, "workspace");
    return workspace;
  }

  async function ownersLeft(workspaceId: string, excludingUserId: string) {
    return prisma.membership.count({ where: { workspaceId, role: "owner", userId: { not: excludingUserId } } });
  }

  app.get("/workspaces", { schema: { tags: ["workspaces"], response: { 200: ListWorkspacesResponse, ...errors } } }, async (req) => {
    const actor = requireUser(req);
    const rows = await prisma.membership.findMany({ where: { userId: actor.userId }, include: { workspace: true }, orderBy: { createdAt: "asc" } });
    return { workspaces: rows.map((m) => toWorkspace(m.workspace, m.role)) };
  });

  app.get("/workspaces/:workspace", { schema: { tags: ["workspaces"], params: WorkspaceParams, response: { 200: WorkspaceResponse, ...errors } } }, async (req) => {
    const ws = await prisma.workspace.findUnique({ where: { name: req.params.workspace } });
    const role = ws ? await access.roleIn(req.actor, ws.id) : null;
    // A workspace with a public project can be seen by anyone; otherwise only by members.
    const visible = ws && (role || (await prisma.project.count({ where: { workspaceId: ws.id, visibility: "public" } })) > 0);
    if (!ws || !visible) throw NotFound(`workspace '${req.params.workspace}' not found`);
    return { workspace: toWorkspace(ws, role) };
  });

  app.post("/teams", { schema: { tags: ["workspaces"], body: CreateTeamBody, response: { 201: WorkspaceResponse, ...errors } } }, async (req, reply) => {
    const actor = requireUser(req);
    if (await prisma.workspace.findUnique({ where: { name: req.body.name } })) throw Conflict(`name '${req.body.name}' is taken`, "name");
    const ws = await prisma.$transaction(async (tx) => {
      const w = await tx.workspace.create({ data: { id: newUuid(), name: req.body.name, displayName: req.body.displayName ?? null, kind: "team" } });
      await tx.membership.create({ data: { workspaceId: w.id, userId: actor.userId, role: "owner" } });
      return w;
    });
    return reply.status(201).send({ workspace: toWorkspace(ws, "owner") });
  });

  app.get("/workspaces/:workspace/members", { schema: { tags: ["workspaces"], params: WorkspaceParams, response: { 200: ListMembersResponse, ...errors } } }, async (req) => {
    const { workspace } = await access.workspaceForMember(requireUser(req), req.params.workspace);
    const rows = await prisma.membership.findMany({ where: { workspaceId: workspace.id }, include: { user: { select: { username: true } } }, orderBy: { createdAt: "asc" } });
    return { members: rows.map(toMember) };
  });

  app.post("/workspaces/:workspace/members", { schema: { tags: ["workspaces"], params: WorkspaceParams, body: AddMemberBody, response: { 201: MemberResponse, ...errors } } }, async (req, reply) => {
    const ws = await adminOf(req, req.params.workspace);
    const user = await prisma.user.findUnique({ where: { username: req.body.username } });
    if (!user) throw NotFound(`user '${req.body.username}' not found`);
    const exists = await prisma.membership.findUnique({ where: { workspaceId_userId: { workspaceId: ws.id, userId: user.id } } });
    if (exists) throw Conflict(`'${req.body.username}' is already a member of '${ws.name}'`, "username");
    const m = await prisma.membership.create({ data: { workspaceId: ws.id, userId: user.id, role: req.body.role }, include: { user: { select: { username: true } } } });
    return reply.status(201).send({ member: toMember(m) });
  });

  app.patch("/workspaces/:workspace/members/:username", { schema: { tags: ["workspaces"], params: MemberParams, body: UpdateMemberBody, response: { 200: MemberResponse, ...errors } } }, async (req) => {
    const ws = await adminOf(req, req.params.workspace);
    const target = await memberOf(ws.id, req.params.username);
    const actorRole = await access.roleIn(req.actor, ws.id);
    if ((req.body.role === "owner" || target.role === "owner") && actorRole !== "owner") throw Forbidden("only an owner can grant or change the owner role");
    if (target.role === "owner" && req.body.role !== "owner" && (await ownersLeft(ws.id, target.userId)) === 0) throw BadRequest("a team needs at least one owner", "role");
    const m = await prisma.membership.update({ where: { workspaceId_userId: { workspaceId: ws.id, userId: target.userId } }, data: { role: req.body.role }, include: { user: { select: { username: true } } } });
    return { member: toMember(m) };
  });

  app.delete("/workspaces/:workspace/members/:username", { schema: { tags: ["workspaces"], params: MemberParams, response: { 200: OkResponse, ...errors } } }, async (req) => {
    const ws = await adminOf(req, req.params.workspace);
    const target = await memberOf(ws.id, req.params.username);
    if (target.role === "owner" && (await access.roleIn(req.actor, ws.id)) !== "owner") throw Forbidden("only an owner can remove an owner");
    if (target.role === "owner" && (await ownersLeft(ws.id, target.userId)) === 0) throw BadRequest("a team needs at least one owner", "username");
    await prisma.membership.delete({ where: { workspaceId_userId: { workspaceId: ws.id, userId: target.userId } } });
    return { ok: true as const };
  });

  async function memberOf(workspaceId: string, username: string) {
    const m = await prisma.membership.findFirst({ where: { workspaceId, user: { username } } });
    if (!m) throw NotFound(`'${username}' is not a member`);
    return m;
  }
};
