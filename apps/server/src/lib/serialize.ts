// Row → wire helpers shared by modules: dates as ISO-8601 UTC, metric values with NaN/±Infinity as strings.
import { toWireValue, type MetricValue } from "@swanhouse/contracts";

export const iso = (d: Date) => d.toISOString();
export const isoOrNull = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** metric_series.last_value is text: a number, or "NaN"/"Infinity"/"-Infinity". */
export function storedValueToWire(s: string | null): MetricValue | null {
  if (s === null) return null;
  return toWireValue(Number(s));
}
