/**
 * Diagnostics produced by the configuration parsers.
 *
 * Parsers never throw on bad input: they collect diagnostics and return
 * the best typed configuration they could build. Callers decide what to do
 * (the daemon refuses to start when any error is present).
 */

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  /** File name as given by the caller (path for loaded files). */
  file: string;
  /** 1-based line number; 0 when the diagnostic concerns the file as a whole. */
  line: number;
  /** 1-based column, when known. */
  col?: number;
  severity: Severity;
  message: string;
}

/** "conntrackd.conf:12: unknown option 'Foo' in Sync/Mode FTFW"; warnings get a "warning: " prefix. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}` : d.file;
  const prefix = d.severity === 'warning' ? 'warning: ' : '';
  return `${where}: ${prefix}${d.message}`;
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Where something was written: used to attach diagnostics. */
export interface Position {
  file: string;
  line: number;
  col?: number;
}

/** Collects diagnostics during one parse (one instance per parse, no shared state). */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];

  error(at: Position, message: string): void {
    this.push('error', at, message);
  }

  warning(at: Position, message: string): void {
    this.push('warning', at, message);
  }

  private push(severity: Severity, at: Position, message: string): void {
    const d: Diagnostic = { file: at.file, line: at.line, severity, message };
    if (at.col !== undefined) d.col = at.col;
    this.items.push(d);
  }
}
