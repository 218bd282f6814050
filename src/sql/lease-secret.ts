/** The secret that signs lease tokens (`value`), made by the migration that created its table. */
export const LEASE_SECRET_SQL = "SELECT value FROM gateway_secret WHERE name = 'lease'";
