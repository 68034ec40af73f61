/** The agents' report line (`{"event":"report", ...}` on stdout), parsed once for both agents (pure). */

/** The report object of a line, or null when the line is not JSON or not a report. */
export function reportObject(line: string): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  return o.event === 'report' ? o : null;
}
