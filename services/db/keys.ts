/**
 * LevelDB key layout. Numbers are zero-padded so lexicographic order is numeric order; `~` sorts
 * after every digit and name character, so `prefix + '~'` bounds a range from above.
 *
 *   rt!<runtime>                   Runtime
 *   fv!<fn>!<version>              FunctionVersion
 *   c!<callId>                     Call
 *   n!<callNum>                    callId   (every call, in callNum order)
 *   if!<fn>!<callNum>              callId   (calls of a function)
 *   is!<status>!<callNum>          callId   (calls by current status)
 *   iss!<sessionId>!<callNum>      callId   (calls of a session)
 *   ctr!<name>                     number   (counters)
 */
export const END = '~';

export const pad = (n: number, width: number): string => String(n).padStart(width, '0');
export const padCallNum = (n: number): string => pad(n, 16);
export const padVersion = (n: number): string => pad(n, 10);

export const keys = {
  runtime: (name: string) => `rt!${name}`,
  runtimePrefix: 'rt!',
  fnVersion: (name: string, version: number) => `fv!${name}!${padVersion(version)}`,
  fnVersionPrefix: (name: string) => `fv!${name}!`,
  fnAllPrefix: 'fv!',
  call: (id: string) => `c!${id}`,
  byNum: (num: number) => `n!${padCallNum(num)}`,
  byNumPrefix: 'n!',
  byFn: (fn: string, num: number) => `if!${fn}!${padCallNum(num)}`,
  byFnPrefix: (fn: string) => `if!${fn}!`,
  byStatus: (status: string, num: number) => `is!${status}!${padCallNum(num)}`,
  byStatusPrefix: (status: string) => `is!${status}!`,
  bySession: (sessionId: string, num: number) => `iss!${sessionId}!${padCallNum(num)}`,
  bySessionPrefix: (sessionId: string) => `iss!${sessionId}!`,
  counter: (name: string) => `ctr!${name}`,
} as const;
