/** Ends an exhaustive `switch`: a case left out of a union fails to compile here. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
