/** Group name -> gid from /etc/group (no NSS lookups in Node); undefined when absent. */
import { readFileSync } from 'node:fs';

export function groupId(name: string, groupFile = '/etc/group'): number | undefined {
  if (/^[0-9]+$/.test(name)) return Number(name);
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  return undefined;
}
