/**
 * The pg-boss release whose statements, tables and messages the modules of
 * this folder were written against. test/contract/pg-boss.test.ts fails
 * while the installed pg-boss is another one: re-run that suite's checks
 * against the new release, adapt this folder, then move this on.
 */
export const ADAPTED_PG_BOSS_VERSION = '12.38.0';
