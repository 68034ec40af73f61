/**
 * The CLI only needs the control socket from the configuration: the `Path`
 * of the `UNIX { ... }` block inside `General { ... }` of a conntrackd.conf,
 * and ctsync's `ControlGroup` (in General) for the permission message. This small scanner reads just that,
 * so client commands work without loading the whole configuration.
 */
import { readFile } from 'node:fs/promises';

export const DEFAULT_SOCKET = '/var/run/conntrackd.ctl';

export type SocketConfig = { ok: true; path: string; group?: string } | { ok: false; message: string };

/** Tokens of conntrackd.conf: words, quoted strings, braces; '#' starts a comment. */
function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /#[^\n]*|"([^"]*)"|([{}])|([^\s{}#"]+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].startsWith('#')) continue;
    out.push(m[1] ?? m[2] ?? m[3] ?? '');
  }
  return out;
}

export function socketFromConfigText(text: string): SocketConfig {
  const t = tokens(text);
  const stack: string[] = [];
  let path: string | undefined;
  let group: string | undefined;
  for (let i = 0; i < t.length; i++) {
    const w = t[i] ?? '';
    if (w === '{') {
      stack.push((t[i - 1] ?? '').toLowerCase());
      continue;
    }
    if (w === '}') {
      if (stack.pop() === undefined) return { ok: false, message: 'unbalanced } in configuration' };
      continue;
    }
    const top = stack[stack.length - 1];
    if (top === 'general' && w.toLowerCase() === 'controlgroup') {
      const val = t[i + 1];
      if (val !== undefined && val !== '{' && val !== '}') {
        group = val;
        i++;
      }
      continue;
    }
    if (top === 'unix') {
      const key = w.toLowerCase();
      const val = t[i + 1];
      if ((key === 'path' || key === 'group' || key === 'controlgroup') && val !== undefined && val !== '{' && val !== '}') {
        if (key === 'path') path = val;
        else group = val;
        i++;
      }
    }
  }
  if (stack.length > 0) return { ok: false, message: 'unterminated { in configuration' };
  return { ok: true, path: path ?? DEFAULT_SOCKET, ...(group !== undefined ? { group } : {}) };
}

export async function socketFromConfigFile(file: string): Promise<SocketConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    return { ok: false, message: `can't open config file \`${file}' (${code})` };
  }
  return socketFromConfigText(text);
}
