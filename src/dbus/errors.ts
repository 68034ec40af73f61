/**
 * Typed D-Bus errors of org.ctsync.Daemon1. Error names follow the D-Bus
 * specification's error-name rules (same syntax as interface names). The
 * text is one line taken from the error message; stack traces never cross
 * the bus.
 */

export const DBUS_ERROR = {
  busy: 'org.ctsync.Error.Busy',
  failed: 'org.ctsync.Error.Failed',
  invalidArgs: 'org.ctsync.Error.InvalidArgs',
} as const;

export type DbusErrorName = (typeof DBUS_ERROR)[keyof typeof DBUS_ERROR];

/** Thrown by the service core; the bus adapter turns it into a D-Bus error reply. */
export class CtsyncDbusError extends Error {
  constructor(
    readonly errorName: DbusErrorName,
    text: string,
  ) {
    super(text);
  }
}

const MAX_TEXT = 512;

/** One line of at most MAX_TEXT characters, without control characters. */
export function cleanText(text: string): string {
  const line = (text.split('\n')[0] ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return line.length > MAX_TEXT ? `${line.slice(0, MAX_TEXT - 3)}...` : line;
}

/**
 * Map anything a DaemonApi call threw to a typed error: EBUSY -> Busy,
 * EINVAL -> InvalidArgs, everything else -> Failed.
 */
export function toDbusError(e: unknown): CtsyncDbusError {
  if (e instanceof CtsyncDbusError) return new CtsyncDbusError(e.errorName, cleanText(e.message));
  const err = e as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' && err.message !== '' ? err.message : String(e);
  const name = code === 'EBUSY' ? DBUS_ERROR.busy : code === 'EINVAL' ? DBUS_ERROR.invalidArgs : DBUS_ERROR.failed;
  return new CtsyncDbusError(name, cleanText(message));
}
