/**
 * Renderers built on files shipped in hooks/: the systemd unit (ExecStart
 * and the config path substituted) and the D-Bus policy (operator group
 * substituted). Pure: template text in, text out.
 */
import type { InitContext } from './types';

export function renderSystemdUnit(template: string, ctx: InitContext): string {
  return template.replace(/^ExecStart=.*$/m, `ExecStart=${ctx.paths.binary} -C ${ctx.paths.config}`);
}

/** Without a group, the group policy is removed: only root may call state-changing methods. */
export function renderDbusPolicy(template: string, ctx: InitContext): string {
  if (ctx.group) return template.replace(/group="ctsync"/g, `group="${ctx.group}"`);
  return template.replace(/\n[ \t]*<policy group="ctsync">[\s\S]*?<\/policy>\n/, '\n');
}
