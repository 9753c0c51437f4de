// Recognises a constraint violation in what Prisma throws for a raw query over the pg adapter:
// a P2010 error whose meta carries the driver's own error, with its SQLSTATE and the name of
// the constraint. The batch writer reads these to pick its fallback, never an error message.
import { adapterCause } from './database-error.js';

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * True when `err` is a unique violation of the index or constraint named `index`, or of one
 * whose name the predicate accepts (a partitioned table's key is reported under the partition's).
 */
export function isUniqueViolation(err: unknown, index: string | ((name: string) => boolean)): boolean {
  return violates(err, UNIQUE_VIOLATION, index);
}

/** True when `err` is a violation of the foreign key named `constraint`. */
export function isForeignKeyViolation(err: unknown, constraint: string): boolean {
  return violates(err, FOREIGN_KEY_VIOLATION, constraint);
}

function violates(err: unknown, state: string, name: string | ((name: string) => boolean)): boolean {
  const cause = adapterCause(err);
  const index = cause?.constraint?.index;
  if (cause?.originalCode !== state || index === undefined) return false;
  return typeof name === 'string' ? index === name : name(index);
}
