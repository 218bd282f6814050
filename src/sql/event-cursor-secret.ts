/** The secret that seals job-event cursors (`value`), made by the migration that added it. */
export const EVENT_CURSOR_SECRET_SQL = "SELECT value FROM gateway_secret WHERE name = 'event-cursor'";
