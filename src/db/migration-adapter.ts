import { randomBytes } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { createDatabase, dropDatabase } from '../sql/databases.ts';
import { quoteIdentifier } from '../sql/identifiers.ts';

const NAME_OID = 19;
const CHAR_OID = 18;
const TEXT_OID = 25;

interface ResultWithFields {
  fields?: { dataTypeID: number }[];
}

/**
 * Prisma's wasm schema engine cannot deserialize the catalog types `name` and
 * `char` that adapter-pg reports for introspection queries (prisma/orm#27403).
 * Reporting them as `text` is lossless for what migrate reads.
 */
function reportCatalogTypesAsText<T>(result: T): T {
  const fields = (result as ResultWithFields | undefined)?.fields;
  for (const field of fields ?? []) {
    if (field.dataTypeID === NAME_OID || field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
  }
  return result;
}

class CatalogAsTextClient extends pg.Client {}
const originalQuery = pg.Client.prototype.query;
Object.defineProperty(CatalogAsTextClient.prototype, 'query', {
  value: function query(this: pg.Client, ...args: unknown[]): unknown {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      const answer = callback as (error: unknown, result: unknown) => void;
      args[args.length - 1] = (error: unknown, result: unknown) => answer(error, error ? result : reportCatalogTypesAsText(result));
    }
    const result: unknown = Reflect.apply(originalQuery, this, args);
    return result instanceof Promise ? result.then(reportCatalogTypesAsText) : result;
  },
});

function poolFor(connectionString: string): pg.Pool {
  return new pg.Pool({ connectionString, Client: CatalogAsTextClient, max: 2, allowExitOnIdle: true });
}

type ConnectedAdapter = Awaited<ReturnType<PrismaPg['connect']>>;

/**
 * adapter-pg runs a migration script one statement at a time, split at every
 * semicolon, which cuts function bodies apart. PostgreSQL takes the whole
 * script as one message instead, as one transaction, as Prisma's native engine
 * sends it; errors are reported as the adapter reports its own.
 */
function runScriptsWhole<A extends ConnectedAdapter>(adapter: A, pool: pg.Pool): A {
  adapter.executeScript = async (script: string) => {
    try {
      await pool.query(script);
    } catch (error) {
      (adapter as unknown as { onError(error: unknown): never }).onError(error);
    }
  };
  return adapter;
}

/**
 * Driver adapter for the Prisma CLI (migrate). `migrate dev` gets a throwaway
 * shadow database of its own, dropped again on dispose.
 */
export class MigrationAdapter extends PrismaPg {
  readonly #connectionString: string;
  readonly #pool: pg.Pool;

  constructor(connectionString: string) {
    const pool = poolFor(connectionString);
    super(pool);
    this.#pool = pool;
    this.#connectionString = connectionString;
  }

  override async connect(): ReturnType<PrismaPg['connect']> {
    return runScriptsWhole(await super.connect(), this.#pool);
  }

  override async connectToShadowDb(): ReturnType<PrismaPg['connectToShadowDb']> {
    const admin = new pg.Client({ connectionString: this.#connectionString });
    const name = `jobgate_shadow_${randomBytes(6).toString('hex')}`;
    await admin.connect();
    await admin.query(createDatabase(quoteIdentifier(name)));
    const url = new URL(this.#connectionString);
    url.pathname = `/${name}`;
    const pool = poolFor(url.toString());
    pool.on('error', () => {}); // its connections are terminated by the DROP below
    const shadow = runScriptsWhole(await new PrismaPg(pool, { disposeExternalPool: true }).connect(), pool);
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await admin.query(dropDatabase(quoteIdentifier(name)));
      await admin.end();
    };
    return shadow;
  }
}
