// The pg driver adapter for migrations, sending each migration script to Postgres whole.
//
// @prisma/adapter-pg 7.10 runs a script by splitting it at every ';' (PrismaPgAdapter.
// executeScript), which cuts a dollar-quoted function body, or a comment with a semicolon, into
// pieces that are not SQL. Postgres runs a multi-statement string itself (the simple query
// protocol) as one implicit transaction, so a migration also applies all or nothing, where the
// split statements committed one by one. A statement that cannot run inside a transaction
// block (CREATE INDEX CONCURRENTLY) therefore needs a migration of its own.
import { PrismaPg } from '@prisma/adapter-pg';

type PrismaPgAdapter = Awaited<ReturnType<PrismaPg['connect']>>;

export class WholeScriptPrismaPg extends PrismaPg {
  override async connect(): Promise<PrismaPgAdapter> {
    return sendScriptsWhole(await super.connect());
  }

  override async connectToShadowDb(): Promise<PrismaPgAdapter> {
    return sendScriptsWhole(await super.connectToShadowDb());
  }
}

function sendScriptsWhole(adapter: PrismaPgAdapter): PrismaPgAdapter {
  adapter.executeScript = async (script: string) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (err) {
      // The adapter's own conversion, so the schema engine reports the server's error as before.
      // biome-ignore lint/complexity/useLiteralKeys: onError is private; the bracket reaches it on purpose.
      adapter['onError'](err);
    }
  };
  return adapter;
}
