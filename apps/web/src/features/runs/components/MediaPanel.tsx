// One media key of a run (images, audio, other files logged by the official SDK): a step picker (latest
// by default) and a simple gallery; images inline with their captions, other files as downloads.
import { useMemo, useState } from "react";
import type { MediaItem } from "@swanhouse/contracts";
import { mediaUrl, useMedia } from "../api.js";
import { StepPicker } from "./StepPicker.js";

export function MediaPanel({ runId, mediaKey, live }: { runId: string; mediaKey: string; live: boolean }) {
  const media = useMedia(runId, mediaKey, live);
  const [step, setStep] = useState<number | undefined>(undefined);
  const items = media.data?.media ?? [];
  const steps = useMemo(() => [...new Set(items.map((m) => m.step))].sort((a, b) => a - b), [items]);
  const shown = step ?? steps.at(-1);
  const atStep = items.filter((m) => m.step === shown).sort((a, b) => a.index - b.index);
  return (
    <figure className="chart-card text-panel media-panel" data-testid={`media-${mediaKey}`} data-key={mediaKey}>
      <figcaption>
        <span className="chart-title">{mediaKey}</span>
        <StepPicker label={mediaKey} steps={steps} step={step} onChange={setStep} />
      </figcaption>
      <div className="media-grid">
        {media.isSuccess && items.length === 0 && <p className="muted">No files logged yet.</p>}
        {atStep.map((m) => <MediaTile key={`${m.step}-${m.index}`} runId={runId} item={m} />)}
      </div>
    </figure>
  );
}

function MediaTile({ runId, item }: { runId: string; item: MediaItem }) {
  const url = mediaUrl(runId, item.path);
  return (
    <div className="media-item" data-testid="media-item" data-step={item.step}>
      {item.kind === "image" ? (
        <a href={url} target="_blank" rel="noreferrer"><img src={url} alt={item.caption ?? `${item.key} step ${item.step}`} loading="lazy" /></a>
      ) : item.kind === "audio" ? (
        <audio controls src={url} />
      ) : (
        <a href={url} download>{item.path.split("/").at(-1)}</a>
      )}
      {item.caption && <div className="caption">{item.caption}</div>}
    </div>
  );
}
