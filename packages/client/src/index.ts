/** @ferry/client: a typed client of a Ferry cluster's /v1 HTTP API. */
export { FerryClient, type FerryClientOptions } from './client.js';
export type { CallEvent, CallStateEvent, EndEvent, LogData, LogEvent, ProgressData, ProgressEvent } from './call-events.js';
export { ClientErrorCode, connectionCause, FerryError, type FerryErrorCode } from './errors.js';
export { readSse, type SseMessage } from './sse.js';
export type { FormField } from './upload.js';
export type * from './types.js';
