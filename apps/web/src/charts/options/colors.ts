// Stable run colours: a run keeps its colour on every chart of a page, given by its position in the
// project's run list (oldest first), so picking or unpicking other runs never repaints it.
export const PALETTE = ["#2f6fde", "#e8684a", "#2fa36b", "#9b59d0", "#f2a541", "#18a2b8", "#d94c8a", "#6b7a8f", "#8fb339", "#b5651d"];

export function colorAt(index: number): string {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

export function colorMap(runIdsOldestFirst: readonly string[]): Map<string, string> {
  return new Map(runIdsOldestFirst.map((id, i) => [id, colorAt(i)]));
}
