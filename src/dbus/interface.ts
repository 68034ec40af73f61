/**
 * org.ctsync.Daemon1 on dbus-next: a thin adapter from D-Bus calls to the
 * DbusCore. Every method catches what the core throws and replies with a
 * typed error (org.ctsync.Error.*); dbus-next would otherwise put a stack
 * trace into a generic error reply.
 *
 *   methods     Commit(s kind) -> (u committed, u failed, d seconds)
 *               Flush(s cache) ; Resync(s kind) ; RequestResync() ; BulkSend() ; ShortenTimers()
 *               GetStats(s section) -> a{sv} ; GetState() -> s
 *   properties  State s, Mode s, InternalCacheSize u, ExternalCacheSize u, Version s, Pid u (read-only,
 *               PropertiesChanged emitted)
 *   signals     StateChanged(s old, s new)
 *               TransitionFinished(s from, s to, t at_epoch_ms, d total_ms, a(sdbs) steps: name, ms, ok, error)
 */
import * as dbus from 'dbus-next';
import type { CoreEvents, DbusCore, Snapshot, TransitionEvent } from './core';
import { CtsyncDbusError, toDbusError } from './errors';

export const BUS_NAME = 'org.ctsync.Daemon1';
export const OBJECT_PATH = '/org/ctsync/Daemon1';
export const INTERFACE_NAME = 'org.ctsync.Daemon1';

type DBusErrorCtor = new (type: string, text: string) => Error;
const DBusError = dbus.DBusError as unknown as DBusErrorCtor;

function busError(e: unknown): Error {
  const err = e instanceof CtsyncDbusError ? e : toDbusError(e);
  return new DBusError(err.errorName, err.message);
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw busError(e);
  }
}

const U32_MAX = 0xffff_ffff;
const u32 = (n: number): number => Math.max(0, Math.min(U32_MAX, Math.trunc(n)));

export class Daemon1Interface extends dbus.interface.Interface {
  private core: DbusCore | undefined;

  constructor() {
    super(INTERFACE_NAME);
  }

  attach(core: DbusCore): void {
    this.core = core;
  }

  private c(): DbusCore {
    if (!this.core) throw new CtsyncDbusError('org.ctsync.Error.Failed', 'service not ready');
    return this.core;
  }

  Commit(kind: string): Promise<[number, number, number]> {
    return guarded(async () => {
      const [ok, failed, secs] = await this.c().commit(kind);
      return [u32(ok), u32(failed), secs];
    });
  }
  Flush(which: string): Promise<void> {
    return guarded(() => this.c().flush(which));
  }
  Resync(kind: string): Promise<void> {
    return guarded(() => this.c().resync(kind));
  }
  RequestResync(): Promise<void> {
    return guarded(() => this.c().requestResync());
  }
  BulkSend(): Promise<void> {
    return guarded(() => this.c().bulkSend());
  }
  ShortenTimers(): Promise<void> {
    return guarded(() => this.c().shortenTimers());
  }
  GetStats(section: string): Promise<Record<string, dbus.Variant>> {
    return guarded(async () => {
      const out: Record<string, dbus.Variant> = {};
      for (const [k, v] of await this.c().getStats(section)) out[k] = new dbus.Variant(v.signature, v.value);
      return out;
    });
  }
  GetState(): Promise<string> {
    return guarded(() => this.c().getState());
  }

  private snap(): Snapshot {
    return this.core?.snapshot() ?? { state: 'UNKNOWN', mode: '', internalCacheSize: 0, externalCacheSize: 0, version: '', pid: 0 };
  }
  get State(): string {
    return this.snap().state;
  }
  get Mode(): string {
    return this.snap().mode;
  }
  get InternalCacheSize(): number {
    return u32(this.snap().internalCacheSize);
  }
  get ExternalCacheSize(): number {
    return u32(this.snap().externalCacheSize);
  }
  get Version(): string {
    return this.snap().version;
  }
  get Pid(): number {
    return u32(this.snap().pid);
  }

  /** Signal emitters: the returned array is the signal body. */
  StateChanged(from: string, to: string): [string, string] {
    return [from, to];
  }
  TransitionFinished(t: TransitionEvent): [string, string, bigint, number, Array<[string, number, boolean, string]>] {
    const steps = t.steps.map((s): [string, number, boolean, string] => [s.name, s.ms, s.ok, s.error ?? '']);
    return [t.from, t.to, BigInt(Math.max(0, Math.trunc(t.atEpochMs))), t.totalMs, steps];
  }

  /** Events for the core, wired to this interface's signals. */
  events(): CoreEvents {
    return {
      stateChanged: (from, to) => this.StateChanged(from, to),
      transitionFinished: (t) => this.TransitionFinished(t),
      propertiesChanged: (changed) => {
        const props: Record<string, unknown> = {};
        const names: Record<keyof Snapshot, string> = {
          state: 'State', mode: 'Mode', internalCacheSize: 'InternalCacheSize',
          externalCacheSize: 'ExternalCacheSize', version: 'Version', pid: 'Pid',
        };
        for (const [k, v] of Object.entries(changed)) {
          const name = names[k as keyof Snapshot];
          props[name] = typeof v === 'number' ? u32(v) : v;
        }
        dbus.interface.Interface.emitPropertiesChanged(this, props, []);
      },
    };
  }
}

const READ = dbus.interface.ACCESS_READ;
Daemon1Interface.configureMembers({
  properties: {
    State: { signature: 's', access: READ },
    Mode: { signature: 's', access: READ },
    InternalCacheSize: { signature: 'u', access: READ },
    ExternalCacheSize: { signature: 'u', access: READ },
    Version: { signature: 's', access: READ },
    Pid: { signature: 'u', access: READ },
  },
  methods: {
    Commit: { inSignature: 's', outSignature: 'uud' },
    Flush: { inSignature: 's' },
    Resync: { inSignature: 's' },
    RequestResync: {},
    BulkSend: {},
    ShortenTimers: {},
    GetStats: { inSignature: 's', outSignature: 'a{sv}' },
    GetState: { outSignature: 's' },
  },
  signals: {
    StateChanged: { signature: 'ss' },
    TransitionFinished: { signature: 'sstda(sdbs)' },
  },
});
