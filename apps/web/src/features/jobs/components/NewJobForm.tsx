// "New fine-tune": project, run name, model (the workers' models folders + init-random demos), data
// (synthetic demo set, paths on the worker host, or uploaded JSONL), device, hyperparameters (recipe
// defaults). Field messages come from the local check first, then from the server's answer.
import { cloneElement, useId, useState, type ChangeEvent, type FormEvent, type ReactElement } from "react";
import type { Hyperparameters, Job } from "@swanhouse/contracts";
import { ApiRequestError } from "../../../api/http.js";
import { ErrorNote } from "../../../components/ui.js";
import { useCreateJob, useJobOptions } from "../api.js";
import { buildJobBody, initialForm, type DataMode, type JobForm } from "../form.js";

const HYPER_FIELDS: Array<[keyof Hyperparameters, string]> = [
  ["learningRate", "Learning rate"], ["epochs", "Epochs"], ["microBatch", "Micro-batch"], ["gradientAccumulation", "Gradient accumulation"],
  ["loraR", "LoRA r"], ["loraAlpha", "LoRA alpha"], ["loraDropout", "LoRA dropout"], ["targets", "LoRA targets"],
  ["maxLength", "Max length"], ["seed", "Seed"], ["maxSteps", "Max steps"], ["evalLimit", "Test samples to predict"], ["maxNewTokens", "Max new tokens"],
];

/** Label bound to its control by id, so the control's name is the label alone (hints and errors sit beside it). */
function Field({ label, error, children, hint }: { label: string; error?: string | undefined; children: ReactElement<{ id?: string }>; hint?: string }) {
  const id = useId();
  return (
    <div className="job-field">
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, { id })}
      {hint && <small className="muted">{hint}</small>}
      {error && <small className="error" role="alert">{error}</small>}
    </div>
  );
}

export function NewJobForm({ defaultProject, onCreated }: { defaultProject?: string; onCreated: (job: Job) => void }) {
  const options = useJobOptions();
  const create = useCreateJob();
  const [form, setForm] = useState<JobForm>(() => ({ ...initialForm(), project: defaultProject ?? "" }));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const set = <K extends keyof JobForm>(k: K, v: JobForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const setHyper = (k: keyof Hyperparameters, v: string) => setForm((f) => ({ ...f, hyper: { ...f.hyper, [k]: v } }));
  const upload = (which: "trainUpload" | "testUpload") => async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    set(which, file ? { filename: file.name, content: await file.text() } : null);
  };
  const gpus = (options.data?.workers ?? []).reduce((n, w) => n + w.gpus.length, 0);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const r = buildJobBody(form);
    if (!r.ok) return setErrors(r.errors);
    setErrors({});
    create.mutate(r.body, {
      onSuccess: (res) => onCreated(res.job),
      onError: (err) => {
        if (err instanceof ApiRequestError && err.field) setErrors({ [err.field.replace(/^body\./, "")]: err.message });
      },
    });
  };
  const err = (k: string) => errors[k];

  return (
    <form className="card job-form" onSubmit={submit} noValidate data-testid="new-job-form">
      <h2>New fine-tune</h2>
      <div className="job-grid">
        <Field label="Project" error={err("project")}>
          <input value={form.project} onChange={(e) => set("project", e.target.value)} placeholder="my-project" />
        </Field>
        <Field label="Run name" error={err("runName")}>
          <input value={form.runName} onChange={(e) => set("runName", e.target.value)} placeholder="qwen3-lora-1" />
        </Field>
        <Field label="Model" error={err("model") ?? err("model.name")} hint="Folders in the workers' models folder, or random weights for a demo">
          <select value={form.model} onChange={(e) => set("model", e.target.value)}>
            {(options.data?.models ?? [{ model: { kind: "init-random" as const, config: "tiny" as const, seed: 1 }, label: "init-random: tiny" }]).map((m) => (
              <option key={JSON.stringify(m.model)} value={JSON.stringify(m.model)}>{m.label}</option>
            ))}
          </select>
        </Field>
        <Field label="Device" error={err("device")} hint={gpus ? `${gpus} GPU(s) online` : "no GPU worker online"}>
          <select value={form.device} onChange={(e) => set("device", e.target.value as "cpu" | "cuda")}>
            <option value="cpu">CPU</option>
            <option value="cuda">GPU (CUDA)</option>
          </select>
        </Field>
        <Field label="Data">
          <select value={form.dataMode} onChange={(e) => set("dataMode", e.target.value as DataMode)}>
            <option value="synthetic">Synthetic news set (demo)</option>
            <option value="path">Files on the worker host</option>
            <option value="upload">Upload JSONL</option>
          </select>
        </Field>
        {form.dataMode === "synthetic" && (
          <>
            <Field label="Training samples" error={err("data.trainSamples")}>
              <input inputMode="numeric" value={form.trainSamples} onChange={(e) => set("trainSamples", e.target.value)} />
            </Field>
            <Field label="Test samples" error={err("data.testSamples")}>
              <input inputMode="numeric" value={form.testSamples} onChange={(e) => set("testSamples", e.target.value)} />
            </Field>
          </>
        )}
        {form.dataMode === "path" && (
          <>
            <Field label="Training data path" error={err("data.train")} hint="task JSONL (text, category, output), pre-tokenized JSONL or .qld">
              <input value={form.trainPath} onChange={(e) => set("trainPath", e.target.value)} placeholder="/data/train.jsonl" />
            </Field>
            <Field label="Test data path" error={err("data.test")}>
              <input value={form.testPath} onChange={(e) => set("testPath", e.target.value)} placeholder="/data/test.jsonl (optional)" />
            </Field>
          </>
        )}
        {form.dataMode === "upload" && (
          <>
            <Field label="Training JSONL" error={err("data.train")}>
              <input type="file" accept=".jsonl,application/json,text/plain" onChange={(e) => void upload("trainUpload")(e)} />
            </Field>
            <Field label="Test JSONL" error={err("data.test")}>
              <input type="file" accept=".jsonl,application/json,text/plain" onChange={(e) => void upload("testUpload")(e)} />
            </Field>
          </>
        )}
      </div>
      <details className="job-hyper" open>
        <summary>Hyperparameters (task recipe defaults)</summary>
        <div className="job-grid">
          {HYPER_FIELDS.map(([k, label]) => (
            <Field key={k} label={label} error={err(`hyperparameters.${k}`)}>
              <input value={form.hyper[k] ?? ""} onChange={(e) => setHyper(k, e.target.value)} />
            </Field>
          ))}
          <Field label="Truncation">
            <select value={form.hyper.truncation} onChange={(e) => setHyper("truncation", e.target.value)}>
              <option value="fit">fit (shorten the text)</option>
              <option value="classic">classic (cut at max length)</option>
            </select>
          </Field>
          <Field label="Schedule">
            <select value={form.hyper.schedule} onChange={(e) => setHyper("schedule", e.target.value)}>
              <option value="linear">linear decay</option>
              <option value="constant">constant</option>
            </select>
          </Field>
        </div>
      </details>
      <div className="row">
        <button className="btn primary" type="submit" disabled={create.isPending}>Start fine-tune</button>
        {create.error && !(create.error instanceof ApiRequestError && create.error.field) && <ErrorNote error={create.error} />}
      </div>
    </form>
  );
}
