/** A duration in milliseconds as µs below 1 ms, else ms. */
export function formatDuration(ms: number): string {
  if (ms < 0.01) return `${(ms * 1000).toFixed(2)} µs`;
  if (ms < 1) return `${(ms * 1000).toFixed(1)} µs`;
  return `${ms.toFixed(2)} ms`;
}

/** A number with thousands separators and no decimals. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** A ratio such as `1.04x`, or `0.0016x` with two significant digits when small. */
export function formatRatio(value: number): string {
  return `${value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}x`;
}

/**
 * A plain-text table: the first column left-aligned, the others right-aligned, a rule under the header. Rows that are
 * a single string are section titles.
 */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[] | string>): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (typeof row === "string" ? 0 : (row[column] ?? "").length))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(headers), rule, ...rows.map((row) => (typeof row === "string" ? row : line(row)))].join("\n");
}
