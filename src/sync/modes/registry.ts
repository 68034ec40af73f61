/** Sync modes by conntrackd.conf name (Sync { Mode NOTRACK | ALARM | FTFW }), case-insensitive. */
import type { ModeFactory } from '../mode';
import { createAlarmMode } from './alarm';
import { createFtfwMode } from './ftfw';
import { createNotrackMode } from './notrack';

export type ModeName = 'notrack' | 'alarm' | 'ftfw';
export const MODE_NAMES: readonly ModeName[] = ['notrack', 'alarm', 'ftfw'];

const FACTORIES: Readonly<Record<ModeName, ModeFactory>> = {
  notrack: createNotrackMode,
  alarm: createAlarmMode,
  ftfw: createFtfwMode,
};

export function isModeName(name: string): name is ModeName {
  return (MODE_NAMES as readonly string[]).includes(name.toLowerCase());
}

/** The factory for a mode name ('FTFW', 'ftfw', ...), or undefined if unknown. */
export function modeFactory(name: string): ModeFactory | undefined {
  const n = name.toLowerCase();
  return isModeName(n) ? FACTORIES[n] : undefined;
}
