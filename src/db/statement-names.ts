// Names for the statements Prisma sends, so that each connection parses and plans a statement
// once and then only binds and runs it (node-postgres prepares a named statement on its first
// use per connection). Unnamed, the batch statement is parsed and planned on every batch, a cost
// live load pays per batch of a few dozen records.
//
// The name is derived from the text, so the same text always gets the same name and two texts
// never share one. Prisma's SQL texts carry their values as parameters, so there are few of
// them; past MAX_NAMED texts a statement goes unnamed, which bounds what each connection keeps.
import { createHash } from 'node:crypto';
import type { SqlQuery } from '@prisma/driver-adapter-utils';

const MAX_NAMED = 200;

export class StatementNames {
  readonly #names = new Map<string, string>();

  /** The name for this statement's text, or undefined (unnamed) once the bound is reached. */
  nameOf = (query: SqlQuery): string | undefined => {
    const known = this.#names.get(query.sql);
    if (known !== undefined || this.#names.size >= MAX_NAMED) return known;
    const name = `zipbank_${createHash('sha256').update(query.sql).digest('hex').slice(0, 32)}`;
    this.#names.set(query.sql, name);
    return name;
  };
}
