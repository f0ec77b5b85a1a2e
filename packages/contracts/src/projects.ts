// Projects: unique name per workspace, private or public.
import { z } from "zod";
import { IsoDate, Name } from "./common.js";

export const Visibility = z.enum(["private", "public"]);
export type Visibility = z.infer<typeof Visibility>;

export const Project = z.object({
  id: z.string(),
  workspace: z.string(),
  name: z.string(),
  description: z.string(),
  visibility: Visibility,
  createdAt: IsoDate,
  updatedAt: IsoDate,
  runCount: z.number().int(),
  lastActivityAt: IsoDate.nullable(),
});
export type Project = z.infer<typeof Project>;

export const CreateProjectBody = z.object({
  name: Name,
  description: z.string().max(1000).optional(),
  visibility: Visibility.optional(),
});
export type CreateProjectBody = z.infer<typeof CreateProjectBody>;
export const UpdateProjectBody = z.object({
  description: z.string().max(1000).optional(),
  visibility: Visibility.optional(),
});
export type UpdateProjectBody = z.infer<typeof UpdateProjectBody>;

export const ProjectParams = z.object({ workspace: z.string().min(1).max(64), project: z.string().min(1).max(100) });
export const ProjectResponse = z.object({ project: Project });
export type ProjectResponse = z.infer<typeof ProjectResponse>;
export const ListProjectsResponse = z.object({ projects: z.array(Project) });
export type ListProjectsResponse = z.infer<typeof ListProjectsResponse>;
