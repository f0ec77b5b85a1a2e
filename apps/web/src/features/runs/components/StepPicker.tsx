// The step picker of the Text and media panels: previous / a select (latest by default, follows new
// steps live) / next. `step` undefined means "latest".
export function StepPicker({ label, steps, step, onChange }: { label: string; steps: readonly number[]; step: number | undefined; onChange: (s: number | undefined) => void }) {
  const shown = step ?? steps.at(-1);
  const idx = shown === undefined ? -1 : steps.indexOf(shown);
  return (
    <span className="chart-actions">
      <button className="icon-btn" aria-label="Previous step" disabled={idx <= 0} onClick={() => onChange(steps[idx - 1])}>‹</button>
      <select aria-label={`Step of ${label}`} value={step === undefined ? "latest" : String(step)} onChange={(e) => onChange(e.target.value === "latest" ? undefined : Number(e.target.value))}>
        <option value="latest">latest{steps.length ? ` (${steps.at(-1)})` : ""}</option>
        {[...steps].reverse().map((s) => <option key={s} value={s}>step {s}</option>)}
      </select>
      <button className="icon-btn" aria-label="Next step" disabled={idx < 0 || idx >= steps.length - 1} onClick={() => onChange(steps[idx + 1])}>›</button>
    </span>
  );
}
