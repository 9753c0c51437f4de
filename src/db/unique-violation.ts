// Recognises a unique-constraint violation in what Prisma throws for a raw query over the pg
// adapter: a P2010 error whose meta carries the driver's own error (SQLSTATE 23505).
import { adapterCause } from './database-error.js';

/** True when `err` is a unique violation of the index or constraint named `index`. */
export function isUniqueViolation(err: unknown, index: string): boolean {
  const cause = adapterCause(err);
  return cause?.originalCode === '23505' && cause.constraint?.index === index;
}
