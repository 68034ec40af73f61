export { AUTH_REJECT_REASONS, createDatagramAuth, type AuthRejectReason, type AuthStats, type DatagramAuth, type DatagramAuthOptions, type OpenResult, type Rejection } from './auth';
export { aeadKey, loadKeyFile, loadKeyRing, makeKey, parseKeyBytes, type KeyRing, type KeyRingResult, type SyncKey } from './keys';
export { authStatsOf, authTransport, type AuthTransport } from './transport';
export { ReplayWindow } from './window';
export { authFromConfig } from './from-config';
