// Recognises a unique-constraint violation in what Prisma throws for a raw query over the pg
// adapter: a P2010 error whose meta carries the driver's own error (SQLSTATE 23505).

interface AdapterCause {
  originalCode?: string;
  constraint?: { index?: string };
}

/** True when `err` is a unique violation of the index or constraint named `index`. */
export function isUniqueViolation(err: unknown, index: string): boolean {
  const meta = (err as { meta?: { driverAdapterError?: { cause?: AdapterCause } } } | null)?.meta;
  const cause = meta?.driverAdapterError?.cause;
  return cause?.originalCode === '23505' && cause.constraint?.index === index;
}
