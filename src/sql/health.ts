/** The readiness probe's round trip. */
export const PING_SQL = 'SELECT 1';
