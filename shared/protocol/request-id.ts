import { customAlphabet } from 'nanoid';
import { z } from 'zod';

/**
 * A request id: the `x-request-id` of the HTTP request that made a call (or one the api made for
 * it), carried with the call to every daemon that handles it and bound to their log lines, so
 * `grep <id>` over the logs shows the call's whole path. Visible characters safe in a log line
 * and a header (UUIDs, W3C trace ids, base64 and nanoids fit); anything else is replaced.
 */
export const REQUEST_ID_MAX = 128;
const REQUEST_ID = /^[A-Za-z0-9._:/+=@-]+$/;

export const requestIdSchema = z.string().min(1).max(REQUEST_ID_MAX).regex(REQUEST_ID, 'must be letters, digits and . _ : / + = @ -');

/** Whether `value` may stand as a request id as it is. */
export function isRequestId(value: string): boolean {
  return value.length > 0 && value.length <= REQUEST_ID_MAX && REQUEST_ID.test(value);
}

/** A new request id: 16 letters and digits (~95 bits). */
export const newRequestId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 16);
