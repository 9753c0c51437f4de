/** The database name in a PostgreSQL URL, and the same URL pointed at the maintenance database. */
export function splitDatabaseUrl(databaseUrl: string): { name: string; maintenanceUrl: string } {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error(`not a valid URL: ${redact(databaseUrl)}`);
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new Error(`expected a postgresql:// URL, got ${url.protocol}//`);
  }
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (name === '') throw new Error('the database URL names no database');
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  return { name, maintenanceUrl: maintenance.toString() };
}

/** The URL without its password, fit for logs and error messages. */
export function redact(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<unparseable URL>';
  }
}
