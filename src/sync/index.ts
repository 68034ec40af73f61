export * from './engine';
export type { KeyOf } from './apply';
export type { AlarmOptions, FtfwOptions, ModeContext, ModeFactory, ModeOptions, SyncMode } from './mode';
export { MODE_NAMES, isModeName, modeFactory, type ModeName } from './modes/registry';
export { FTFW_DEFAULTS } from './modes/ftfw';
export { ALARM_DEFAULTS } from './modes/alarm';
export type { PeerInfo } from './peers';
export * from './seq';
