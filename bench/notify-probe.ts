/**
 * What a NOTIFY in every committing transaction costs PostgreSQL: concurrent
 * single-row inserts into a scratch table with and without a row trigger that
 * calls pg_notify (as the gateway's job-event trigger does). PostgreSQL
 * serialises the commits of notifying transactions (a database-wide lock held
 * until the commit record is flushed), so group commit is lost and the rate
 * stops growing with the number of connections. Configurations alternate over
 * several rounds; medians are printed.
 *   node bench/notify-probe.ts   (uses a throwaway database, like the bench)
 */
import pg from 'pg';
import { createBenchDatabase } from './database.ts';

const INSERTS = 1_000;
const ROUNDS = 5;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const database = await createBenchDatabase();
try {
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  await pool.query('CREATE TABLE probe (id bigserial PRIMARY KEY, v text)');
  await pool.query(`CREATE FUNCTION probe_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('probe', NEW.id::text); RETURN NULL; END $$`);
  await pool.query('CREATE TRIGGER probe_notify AFTER INSERT ON probe FOR EACH ROW EXECUTE FUNCTION probe_notify()');
  const listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  await listener.query('LISTEN probe');
  const rate = async (lanes: number): Promise<number> => {
    let next = 0;
    const began = performance.now();
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next++ < INSERTS) await pool.query('INSERT INTO probe (v) VALUES ($1)', ['x']);
      }),
    );
    return (INSERTS * 1000) / (performance.now() - began);
  };
  const results: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const trigger of [false, true]) {
      await pool.query(`ALTER TABLE probe ${trigger ? 'ENABLE' : 'DISABLE'} TRIGGER probe_notify`);
      for (const lanes of [1, 8])
        (results[`${trigger ? 'pg_notify trigger' : 'no trigger'}, ${lanes} connection${lanes > 1 ? 's' : ''}`] ??= []).push(await rate(lanes));
    }
  }
  for (const [label, rates] of Object.entries(results))
    console.log(`${label.padEnd(34)} ${median(rates).toFixed(0).padStart(6)} inserts/s (median of ${ROUNDS})`);
  await listener.end();
  await pool.end();
} finally {
  await database.drop();
}
