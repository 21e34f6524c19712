import type { z } from 'zod';

/** A validation failure as one line that names each bad field: `limit: Too small; cursor: …`. */
export function issuesText(error: z.ZodError, whole: string): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || whole}: ${i.message}`).join('; ');
}
