// API keys: list, create (the secret comes back once), revoke.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { CreatedApiKeyResponse, ListApiKeysResponse, OkResponse } from "@swanhouse/contracts";
import { api, enc } from "../../api/http.js";

export const useApiKeys = () => useQuery({ queryKey: ["api-keys"], queryFn: () => api(ListApiKeysResponse, "/api-keys") });

export function useCreateApiKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api(CreatedApiKeyResponse, "/api-keys", { method: "POST", body: { name } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["api-keys"] }),
  });
}

export function useRevokeApiKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api(OkResponse, `/api-keys/${enc(id)}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["api-keys"] }),
  });
}
