// Every chart of a page, grouped by section (collapsible), in a responsive grid (one per row on phones).
import type { ReactNode } from "react";
import { groupBySection } from "../sections.js";
import { MetricChart, type ChartRun } from "./MetricChart.js";

export function ChartSections({ keys, runs, extra }: { keys: readonly string[]; runs: readonly ChartRun[]; extra?: (section: string) => ReactNode }) {
  const groups = groupBySection(keys);
  return (
    <div className="sections">
      {groups.map((g) => (
        <details key={g.section} open className="section" data-section={g.section}>
          <summary>
            {g.section} <span className="muted small">{g.keys.length}</span>
          </summary>
          <div className="chart-grid">
            {g.keys.map((k) => (
              <MetricChart key={k} metricKey={k} runs={runs} />
            ))}
            {extra?.(g.section)}
          </div>
        </details>
      ))}
    </div>
  );
}
