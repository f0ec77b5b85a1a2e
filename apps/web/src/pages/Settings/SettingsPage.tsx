// Settings: the CLI login command, API keys (create → shown once with a copy button, list, revoke),
// email notices when runs end, and the password (the current one, the new one twice).
import { useState, type FormEvent } from "react";
import { useApiKeys, useCreateApiKey, useRevokeApiKey } from "../../features/api-keys/api.js";
import { useChangePassword, useMe, useUpdateMe } from "../../features/auth/api.js";
import { CodeBlock, CopyButton, ErrorNote, fmtAgo, fmtTime } from "../../components/ui.js";

export function SettingsPage() {
  const keys = useApiKeys();
  const create = useCreateApiKey();
  const revoke = useRevokeApiKey();
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(name.trim(), { onSuccess: (r) => { setCreated({ name: r.apiKey.name, key: r.key }); setName(""); } });
  };
  const host = window.location.origin;
  return (
    <div className="page narrow">
      <h1>Settings</h1>
      <section className="card">
        <h2>Log in from the command line</h2>
        <p className="muted">Install the SwanLab SDK (<code>pip install swanlab</code>), then run this and paste an API key:</p>
        <CodeBlock code={`swanlab login --host ${host}`} testId="login-command" />
      </section>
      <section className="card">
        <h2>API keys</h2>
        <form className="row" onSubmit={submit}>
          <input aria-label="Key name" placeholder="Key name, e.g. laptop" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          <button className="btn primary" type="submit" disabled={create.isPending}>Create key</button>
        </form>
        <ErrorNote error={create.error} />
        {created && (
          <div className="notice" data-testid="new-key">
            <p>
              <strong>{created.name}</strong>: copy this key now, it will not be shown again.
            </p>
            <div className="row">
              <code className="secret" data-testid="new-key-value">{created.key}</code>
              <CopyButton text={created.key} />
            </div>
          </div>
        )}
        <table className="table cards">
          <thead>
            <tr><th>Name</th><th>Key</th><th>Created</th><th>Last used</th><th /></tr>
          </thead>
          <tbody>
            {keys.data?.apiKeys.map((k) => (
              <tr key={k.id} data-testid="api-key-row">
                <td data-label="Name">{k.name}</td>
                <td data-label="Key"><code>{k.prefix}…</code></td>
                <td data-label="Created">{fmtTime(k.createdAt)}</td>
                <td data-label="Last used">{fmtAgo(k.lastUsedAt)}</td>
                <td>
                  <button className="btn small danger" onClick={() => confirm(`Revoke the key "${k.name}"? Programs using it will stop working.`) && revoke.mutate(k.id)}>Revoke</button>
                </td>
              </tr>
            ))}
            {keys.data?.apiKeys.length === 0 && (
              <tr><td colSpan={5} className="muted">No API keys yet.</td></tr>
            )}
          </tbody>
        </table>
      </section>
      <EmailNotices />
      <ChangePassword />
    </div>
  );
}

function ChangePassword() {
  const change = useChangePassword();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setMismatch(next !== repeat);
    if (next !== repeat) return;
    change.mutate({ currentPassword: current, newPassword: next }, { onSuccess: () => { setCurrent(""); setNext(""); setRepeat(""); } });
  };
  const edit = (set: (v: string) => void) => (e: { target: { value: string } }) => {
    set(e.target.value);
    change.reset();
  };
  return (
    <section className="card" aria-label="Password">
      <h2>Password</h2>
      <form className="fields" onSubmit={submit}>
        <label>
          Current password
          <input type="password" autoComplete="current-password" required value={current} onChange={edit(setCurrent)} />
        </label>
        <label>
          New password
          <input type="password" autoComplete="new-password" required minLength={8} value={next} onChange={edit(setNext)} />
        </label>
        <label>
          Repeat the new password
          <input type="password" autoComplete="new-password" required minLength={8} value={repeat} onChange={edit(setRepeat)} />
        </label>
        {mismatch && <p className="error" role="alert">The new passwords do not match.</p>}
        <ErrorNote error={change.error} />
        {change.isSuccess && <p className="notice" role="status">Password changed. Your other sessions were signed out; API keys still work.</p>}
        <button className="btn primary" type="submit" disabled={change.isPending}>Change password</button>
      </form>
    </section>
  );
}

function EmailNotices() {
  const me = useMe().data;
  const update = useUpdateMe();
  const [email, setEmail] = useState<string | null>(null); // null: not edited yet, show the stored one
  const [notify, setNotify] = useState<boolean | null>(null);
  if (!me) return null;
  const shownEmail = email ?? me.user.email ?? "";
  const shownNotify = notify ?? me.user.notifyRunEnd;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ email: shownEmail.trim() || null, notifyRunEnd: shownNotify }, { onSuccess: () => { setEmail(null); setNotify(null); } });
  };
  return (
    <section className="card" aria-label="Email">
      <h2>Email</h2>
      {!me.mail && <p className="muted small" data-testid="no-mail">This server sends no mail: its operator has not set SMTP_URL.</p>}
      <form className="fields" onSubmit={submit}>
        <label>
          Email address
          <input type="email" autoComplete="email" maxLength={254} value={shownEmail} onChange={(e) => { setEmail(e.target.value); update.reset(); }} />
        </label>
        <label className="check">
          <input type="checkbox" checked={shownNotify} onChange={(e) => { setNotify(e.target.checked); update.reset(); }} />
          Email me when a run I started finishes, crashes or is aborted
        </label>
        <ErrorNote error={update.error} />
        {update.isSuccess && <p className="notice" role="status">Saved.</p>}
        <button className="btn primary" type="submit" disabled={update.isPending}>Save</button>
      </form>
    </section>
  );
}
