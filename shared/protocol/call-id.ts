import { customAlphabet } from 'nanoid';

/**
 * A new call id: 21 letters and digits (~125 bits). nanoid's default alphabet also has `-` and
 * `_`, and an id that starts with `-` reads as an option to a command line (`ferry call -x…`,
 * `curl …/calls/-x…` in scripts): one call in 64 could not be named plainly.
 */
export const newCallId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 21);
