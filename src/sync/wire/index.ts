export * from './types';
export { crc32c } from './crc32c';
export { decodeMessage, encodeMessage, messageSize, writeMessage } from './message';
export { decodeDatagram, encodeDatagrams, type EncodeResult } from './datagram';
export * from './sealed';
