// Projects of a workspace: list (run counts, last activity), create, change visibility, delete.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ListProjectsResponse, OkResponse, ProjectResponse, type CreateProjectBody, type UpdateProjectBody } from "@swanhouse/contracts";
import { api, enc } from "../../api/http.js";

export const useProjects = (ws: string) =>
  useQuery({ queryKey: ["projects", ws], queryFn: () => api(ListProjectsResponse, `/workspaces/${enc(ws)}/projects`), retry: false });

export const useProject = (ws: string, p: string) =>
  useQuery({ queryKey: ["project", ws, p], queryFn: () => api(ProjectResponse, `/projects/${enc(ws)}/${enc(p)}`), retry: false });

export function useCreateProject(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateProjectBody) => api(ProjectResponse, `/workspaces/${enc(ws)}/projects`, { method: "POST", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["projects", ws] }),
  });
}

export function useUpdateProject(ws: string, p: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateProjectBody) => api(ProjectResponse, `/projects/${enc(ws)}/${enc(p)}`, { method: "PATCH", body }),
    onSuccess: (res) => {
      qc.setQueryData(["project", ws, p], res);
      void qc.invalidateQueries({ queryKey: ["projects", ws] });
    },
  });
}

/** Deletes a project with its runs and all they logged. */
export function useDeleteProject(ws: string, p: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api(OkResponse, `/projects/${enc(ws)}/${enc(p)}`, { method: "DELETE" }),
    onSuccess: () => {
      qc.removeQueries({ queryKey: ["project", ws, p] });
      void qc.invalidateQueries({ queryKey: ["projects", ws] });
    },
  });
}
