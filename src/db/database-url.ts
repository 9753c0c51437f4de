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

/** Query parameters of a PostgreSQL URL that carry secrets (libpq's names). */
const SECRET_PARAMETERS = ['password', 'sslpassword'];

/** The URL without its password (user part or query), fit for logs and error messages. */
export function redact(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    for (const name of SECRET_PARAMETERS) if (url.searchParams.has(name)) url.searchParams.set(name, '***');
    return url.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    return '<unparseable URL>';
  }
}
