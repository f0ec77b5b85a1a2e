// The project page's notifications (owners and admins): URLs POSTed when a run ends, the secret shown
// once with a copy button, each webhook's last delivery, a test message on demand.
import { useState, type FormEvent } from "react";
import { WebhookEvent, type Webhook } from "@swanhouse/contracts";
import { useCreateWebhook, useDeleteWebhook, useTestWebhook, useWebhooks } from "../api.js";
import { CopyButton, ErrorNote, fmtAgo } from "../../../components/ui.js";

const LABELS: Record<WebhookEvent, string> = { "run.finished": "finished", "run.crashed": "crashed", "run.aborted": "aborted" };

function lastDelivery(w: Webhook): string {
  const d = w.lastDelivery;
  if (!d) return "not yet";
  return `${d.status ?? d.error} · ${fmtAgo(d.at)}`;
}

export function WebhooksCard({ workspace, project }: { workspace: string; project: string }) {
  const hooks = useWebhooks(workspace, project);
  const create = useCreateWebhook(workspace, project);
  const remove = useDeleteWebhook(workspace, project);
  const test = useTestWebhook(workspace, project);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<WebhookEvent[]>(["run.finished", "run.crashed"]);
  const [secret, setSecret] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ url: url.trim(), events }, { onSuccess: (r) => { setSecret(r.secret); setUrl(""); } });
  };
  const toggle = (ev: WebhookEvent) => setEvents((cur) => (cur.includes(ev) ? cur.filter((x) => x !== ev) : [...cur, ev]));
  return (
    <section className="card webhooks" aria-label="Notifications">
      <h2>Notifications</h2>
      <p className="muted small">
        A webhook is POSTed a JSON message when a run of this project ends. Slack and Mattermost incoming webhooks
        show its <code>text</code> as is; others can check <code>x-swanhouse-signature</code> (HMAC-SHA256 of the body with the secret).
      </p>
      <form className="row" onSubmit={submit}>
        <input aria-label="Webhook URL" type="url" required placeholder="https://hooks.slack.com/services/…" value={url} onChange={(e) => setUrl(e.target.value)} />
        {WebhookEvent.options.map((ev) => (
          <label key={ev} className="small"><input type="checkbox" checked={events.includes(ev)} onChange={() => toggle(ev)} /> {LABELS[ev]}</label>
        ))}
        <button className="btn primary" type="submit" disabled={create.isPending || events.length === 0}>Add webhook</button>
      </form>
      <ErrorNote error={create.error ?? remove.error ?? test.error ?? hooks.error} />
      {secret && (
        <div className="notice" data-testid="webhook-secret">
          <p>Signing secret: copy it now, it will not be shown again.</p>
          <div className="row">
            <code className="secret">{secret}</code>
            <CopyButton text={secret} />
          </div>
        </div>
      )}
      {!!hooks.data?.webhooks.length && (
        <table className="table cards">
          <thead>
            <tr><th>URL</th><th>When a run is</th><th>Last delivery</th><th /></tr>
          </thead>
          <tbody>
            {hooks.data.webhooks.map((w) => (
              <tr key={w.id} data-testid="webhook-row">
                <td data-label="URL" className="mono">{w.url}</td>
                <td data-label="When a run is">{w.events.map((ev) => LABELS[ev]).join(", ")}</td>
                <td data-label="Last delivery" data-testid="webhook-last">{lastDelivery(w)}</td>
                <td className="row">
                  <button className="btn small" disabled={test.isPending} onClick={() => test.mutate(w.id)}>Send test</button>
                  <button className="btn small danger" onClick={() => confirm(`Delete the webhook to ${w.url}?`) && remove.mutate(w.id)}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
