// Workspaces (personal + teams) and team members.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ListMembersResponse, MemberResponse, OkResponse, WorkspaceResponse, type AddMemberBody, type CreateTeamBody, type MemberRole } from "@swanhouse/contracts";
import { api, enc } from "../../api/http.js";

export const useWorkspace = (ws: string) =>
  useQuery({ queryKey: ["workspace", ws], queryFn: () => api(WorkspaceResponse, `/workspaces/${enc(ws)}`), retry: false });

export const useMembers = (ws: string) =>
  useQuery({ queryKey: ["members", ws], queryFn: () => api(ListMembersResponse, `/workspaces/${enc(ws)}/members`) });

export function useCreateTeam() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateTeamBody) => api(WorkspaceResponse, "/teams", { method: "POST", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["me"] }),
  });
}

export function useMemberMutations(ws: string) {
  const qc = useQueryClient();
  const done = () => qc.invalidateQueries({ queryKey: ["members", ws] });
  return {
    add: useMutation({ mutationFn: (body: AddMemberBody) => api(MemberResponse, `/workspaces/${enc(ws)}/members`, { method: "POST", body }), onSuccess: done }),
    change: useMutation({
      mutationFn: (v: { username: string; role: MemberRole }) => api(MemberResponse, `/workspaces/${enc(ws)}/members/${enc(v.username)}`, { method: "PATCH", body: { role: v.role } }),
      onSuccess: done,
    }),
    remove: useMutation({ mutationFn: (username: string) => api(OkResponse, `/workspaces/${enc(ws)}/members/${enc(username)}`, { method: "DELETE" }), onSuccess: done }),
  };
}
