// Recognises a constraint violation in what Prisma throws for a raw query over the pg adapter:
// a P2010 error whose meta carries the driver's own error, with its SQLSTATE and the name of
// the constraint. The batch writer reads these to pick its fallback, never an error message.
import { adapterCause } from './database-error.js';

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/** True when `err` is a unique violation of the index or constraint named `index`. */
export function isUniqueViolation(err: unknown, index: string): boolean {
  return violates(err, UNIQUE_VIOLATION, index);
}

/** True when `err` is a violation of the foreign key named `constraint`. */
export function isForeignKeyViolation(err: unknown, constraint: string): boolean {
  return violates(err, FOREIGN_KEY_VIOLATION, constraint);
}

function violates(err: unknown, state: string, name: string): boolean {
  const cause = adapterCause(err);
  return cause?.originalCode === state && cause.constraint?.index === name;
}
