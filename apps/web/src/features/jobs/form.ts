// The "New fine-tune" form's state → a CreateJobBody, with messages per field (checked by the same
// contracts schema the server uses, plus the form's own rules). Pure: unit-tested.
import { CreateJobBody, DEFAULT_HYPERPARAMETERS, type Hyperparameters, type JobModel } from "@swanhouse/contracts";

export type DataMode = "synthetic" | "path" | "upload";
export type JobForm = {
  project: string;
  runName: string;
  /** JSON of a JobModel (the select's value). */
  model: string;
  device: "cpu" | "cuda";
  dataMode: DataMode;
  trainSamples: string;
  testSamples: string;
  trainPath: string;
  testPath: string;
  trainUpload: { filename: string; content: string } | null;
  testUpload: { filename: string; content: string } | null;
  hyper: Record<keyof Hyperparameters, string>;
};

const NUMERIC: Array<keyof Hyperparameters> = ["learningRate", "epochs", "microBatch", "gradientAccumulation", "loraR", "loraAlpha", "loraDropout", "maxLength", "seed", "maxSteps", "evalLimit", "maxNewTokens", "saveEvery"];
const INTEGER = new Set<keyof Hyperparameters>(["epochs", "microBatch", "gradientAccumulation", "loraR", "maxLength", "seed", "maxSteps", "evalLimit", "maxNewTokens", "saveEvery"]);

export function initialForm(defaults: Hyperparameters = DEFAULT_HYPERPARAMETERS): JobForm {
  const hyper = {} as Record<keyof Hyperparameters, string>;
  for (const [k, v] of Object.entries(defaults) as Array<[keyof Hyperparameters, unknown]>) hyper[k] = Array.isArray(v) ? v.join(",") : String(v ?? "");
  hyper.maxSteps ??= "";
  hyper.evalLimit ??= "";
  return {
    project: "", runName: "", model: JSON.stringify({ kind: "init-random", config: "tiny", seed: 1 } satisfies JobModel), device: "cpu",
    dataMode: "synthetic", trainSamples: "1600", testSamples: "100", trainPath: "", testPath: "", trainUpload: null, testUpload: null, hyper,
  };
}

export type FormResult = { ok: true; body: CreateJobBody } | { ok: false; errors: Record<string, string> };

export function buildJobBody(f: JobForm): FormResult {
  const errors: Record<string, string> = {};
  const hyper: Record<string, unknown> = {};
  for (const k of NUMERIC) {
    const raw = f.hyper[k]?.trim() ?? "";
    if (raw === "") {
      if (k !== "maxSteps" && k !== "evalLimit") errors[`hyperparameters.${k}`] = "required";
      continue;
    }
    const n = Number(raw);
    if (!Number.isFinite(n)) errors[`hyperparameters.${k}`] = "not a number";
    else if (INTEGER.has(k) && !Number.isInteger(n)) errors[`hyperparameters.${k}`] = "a whole number";
    else hyper[k] = n;
  }
  hyper.targets = (f.hyper.targets ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  hyper.truncation = f.hyper.truncation;
  hyper.schedule = f.hyper.schedule;
  hyper.recompute = f.hyper.recompute === "true";

  let data: unknown;
  if (f.dataMode === "synthetic") {
    data = { kind: "synthetic", trainSamples: Number(f.trainSamples), testSamples: Number(f.testSamples), seed: 1 };
  } else if (f.dataMode === "path") {
    data = { kind: "files", train: { kind: "path", path: f.trainPath.trim() }, ...(f.testPath.trim() ? { test: { kind: "path", path: f.testPath.trim() } } : {}) };
  } else {
    if (!f.trainUpload) errors["data.train"] = "choose a JSONL file";
    data = {
      kind: "files",
      train: f.trainUpload ? { kind: "upload", ...f.trainUpload } : undefined,
      ...(f.testUpload ? { test: { kind: "upload", ...f.testUpload } } : {}),
    };
  }
  let model: unknown;
  try {
    model = JSON.parse(f.model);
  } catch {
    errors.model = "choose a model";
  }
  const parsed = CreateJobBody.safeParse({ project: f.project.trim(), runName: f.runName.trim(), model, device: f.device, data, hyperparameters: hyper });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = fieldKey(issue.path.map(String));
      errors[key] ??= issue.message;
    }
  }
  if (Object.keys(errors).length || !parsed.success) return { ok: false, errors };
  return { ok: true, body: parsed.data };
}

/** Error paths → the form's field keys (data.train.path → data.train, etc.). */
function fieldKey(path: string[]): string {
  if (path[0] === "data") return path[1] === "trainSamples" || path[1] === "testSamples" ? `data.${path[1]}` : `data.${path[1] ?? "train"}`;
  if (path[0] === "hyperparameters") return `hyperparameters.${path[1]}`;
  return path[0] ?? "form";
}
