// A project's webhooks (owners and admins): list with each one's last delivery, create (the secret is
// answered once), send a test message, delete.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { CreatedWebhookResponse, ListWebhooksResponse, OkResponse, WebhookResponse, type CreateWebhookBody } from "@swanhouse/contracts";
import { api, enc } from "../../api/http.js";

const webhooksKey = (ws: string, p: string) => ["webhooks", ws, p] as const;
const path = (ws: string, p: string) => `/projects/${enc(ws)}/${enc(p)}/webhooks`;

/** Polled while shown: deliveries happen when runs end, with no socket event of their own. */
export const useWebhooks = (ws: string, p: string) =>
  useQuery({ queryKey: webhooksKey(ws, p), queryFn: () => api(ListWebhooksResponse, path(ws, p)), refetchInterval: 5000 });

export function useCreateWebhook(ws: string, p: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateWebhookBody) => api(CreatedWebhookResponse, path(ws, p), { method: "POST", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: webhooksKey(ws, p) }),
  });
}

export function useDeleteWebhook(ws: string, p: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api(OkResponse, `${path(ws, p)}/${enc(id)}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: webhooksKey(ws, p) }),
  });
}

/** One signed `webhook.test` POST now; the list then shows its outcome. */
export function useTestWebhook(ws: string, p: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api(WebhookResponse, `${path(ws, p)}/${enc(id)}/test`, { method: "POST" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: webhooksKey(ws, p) }),
  });
}
