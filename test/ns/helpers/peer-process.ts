/**
 * Runs a helper script inside a namespace with JSON lines on stdin/stdout,
 * and waits for events from it. Killed by the Lab's cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Lab } from '../../helpers/netns';

export type Msg = Record<string, unknown> & { ev?: string; event?: string };

export class PeerProcess {
  readonly child: ChildProcess;
  readonly messages: Msg[] = [];
  private readonly waiters: Array<{ pred: (m: Msg) => boolean; resolve: (m: Msg) => void }> = [];
  stderr = '';

  constructor(lab: Lab, ns: string, argv: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const child = this.child;
    lab.onCleanup(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let m: Msg;
      try {
        m = JSON.parse(line) as Msg;
      } catch {
        return;
      }
      this.messages.push(m);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i];
        if (w && w.pred(m)) {
          this.waiters.splice(i, 1);
          w.resolve(m);
        }
      }
    });
  }

  send(obj: object): void {
    this.child.stdin?.write(`${JSON.stringify(obj)}\n`);
  }

  /** Next message (from now on) matching pred, or reject after timeoutMs. */
  next(pred: (m: Msg) => boolean, timeoutMs = 10_000): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout waiting for message; stderr: ${this.stderr.slice(-2000)}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }

  /** Send a command and wait for the reply event named `ev`. */
  async call(obj: object, ev: string, timeoutMs = 10_000): Promise<Msg> {
    const p = this.next((m) => m.ev === ev || m.ev === 'error', timeoutMs);
    this.send(obj);
    const m = await p;
    if (m.ev === 'error') throw new Error(`peer error: ${JSON.stringify(m)}`);
    return m;
  }

  /** Wait until the first message arrives (ready or an error). */
  async ready(timeoutMs = 15_000): Promise<Msg> {
    const existing = this.messages.find((m) => m.ev === 'ready' || m.event === 'ready' || m.ev === 'error');
    const m = existing ?? (await this.next((x) => x.ev === 'ready' || x.event === 'ready' || x.ev === 'error', timeoutMs));
    if (m.ev === 'error') throw new Error(`peer failed to start: ${JSON.stringify(m)} ${this.stderr}`);
    return m;
  }
}
