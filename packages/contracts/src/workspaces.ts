// Workspaces: one personal per user, and teams with members in roles.
import { z } from "zod";
import { IsoDate, Username } from "./common.js";

export const MemberRole = z.enum(["owner", "admin", "member", "viewer"]);
export type MemberRole = z.infer<typeof MemberRole>;

export const Workspace = z.object({
  id: z.string(),
  name: z.string(),
  displayName: z.string().nullable(),
  kind: z.enum(["personal", "team"]),
  /** The caller's role; null when the caller only reads public projects. */
  role: MemberRole.nullable(),
  createdAt: IsoDate,
});
export type Workspace = z.infer<typeof Workspace>;

export const Member = z.object({ userId: z.string(), username: z.string(), role: MemberRole, createdAt: IsoDate });
export type Member = z.infer<typeof Member>;

export const CreateTeamBody = z.object({
  name: Username,
  displayName: z.string().trim().min(1).max(128).optional(),
});
export type CreateTeamBody = z.infer<typeof CreateTeamBody>;
export const AddMemberBody = z.object({ username: z.string().min(1).max(64), role: MemberRole.exclude(["owner"]) });
export type AddMemberBody = z.infer<typeof AddMemberBody>;
export const UpdateMemberBody = z.object({ role: MemberRole });
export type UpdateMemberBody = z.infer<typeof UpdateMemberBody>;

export const WorkspaceParams = z.object({ workspace: z.string().min(1).max(64) });
export const MemberParams = z.object({ workspace: z.string().min(1).max(64), username: z.string().min(1).max(64) });

export const WorkspaceResponse = z.object({ workspace: Workspace });
export const ListWorkspacesResponse = z.object({ workspaces: z.array(Workspace) });
export const ListMembersResponse = z.object({ members: z.array(Member) });
export const MemberResponse = z.object({ member: Member });
