// PostgreSQL array literals ('{1,2,NULL}') built in one join. Handing Prisma a JavaScript array
// makes it, and then node-postgres, convert and escape every element on its own; for the batch
// writer's columns of thousands of numbers that was a tenth of the ingester's CPU. A literal is
// one string parameter that the SQL casts (`${literal}::bigint[]`), parsed by Postgres as before.

/** '{1,2,NULL}' for finite numbers and nulls; throws on anything else rather than write it wrong. */
export function numberArrayLiteral(values: readonly (number | null)[]): string {
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) text += ',';
    if (value === null) text += 'NULL';
    else if (Number.isFinite(value)) text += String(value);
    else throw new TypeError(`array element ${i} is ${String(value)}, not a finite number`);
  }
  return `${text}}`;
}

/** Words that need no quoting in an array literal and cannot be read as NULL. */
const PLAIN_WORD = /^[a-z_]+$/;

/** '{deposit,withdrawal}' for lower-case words only, such as enum-like codes. */
export function wordArrayLiteral(values: readonly string[]): string {
  for (let i = 0; i < values.length; i++) {
    if (!PLAIN_WORD.test(values[i]!) || values[i] === 'null')
      throw new TypeError(`array element ${i} (${JSON.stringify(values[i])}) is not a plain lower-case word`);
  }
  return `{${values.join(',')}}`;
}
