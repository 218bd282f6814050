import type { IncomingMessage } from 'node:http';
import { GraphQLError, Kind, parse, type DocumentNode, type ExecutionResult, type OperationDefinitionNode, type ParseOptions, type Source } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { SETTLEMENT_FIELDS } from '../auth/operation-admission.ts';
import type { TenantLimiter } from '../auth/tenant-limiter.ts';
import type { TenantRecord } from '../auth/tenants.ts';
import { clientError, type ErrorCode } from '../errors.ts';
import type { Context } from '../graphql/context.ts';
import { requestViewer } from './http-auth.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { OperationDatabaseShare } from './operation-database-share.ts';

export function operationOf(document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return name ? operations.find((op) => op.name?.value === name) : operations[0];
}

/** What envelop hands a plugin of an operation: its typings leave the document and name `any`. */
export interface OperationArgs {
  document: unknown;
  operationName?: unknown;
}

/** The operation an envelop hook runs (see `operationOf`). */
export function operationOfArgs(args: OperationArgs): OperationDefinitionNode | undefined {
  return operationOf(args.document as DocumentNode, args.operationName as string | null | undefined);
}

export function rootFieldNames(operation: OperationDefinitionNode | undefined): string[] {
  return (operation?.selectionSet.selections ?? []).map((selection) => (selection.kind === Kind.FIELD ? selection.name.value : '…'));
}

function rootFields(operation: OperationDefinitionNode | undefined): string {
  return rootFieldNames(operation).join(',');
}

/**
 * The `field` label: the root field when the operation selects only that one
 * (under any number of aliases), else `multiple`. Joining the names would
 * give a new series for every combination a client cares to send.
 */
function rootFieldLabel(operation: OperationDefinitionNode | undefined): string {
  const names = new Set(rootFieldNames(operation));
  const [only] = names;
  return names.size === 1 && only !== '…' ? only! : 'multiple';
}

function onlySettlements(operation: OperationDefinitionNode | undefined): boolean {
  const names = rootFieldNames(operation);
  return operation?.operation === 'mutation' && names.length > 0 && names.every((name) => SETTLEMENT_FIELDS.has(name));
}

/**
 * An error raised before execution began, such as a variable that does not
 * coerce to its type: the request's fault. graphql-js gives those no code
 * (nor a path, nor a cause other than another GraphQL error).
 */
function isRequestError(error: GraphQLError): boolean {
  if (error.path !== undefined || error.extensions.code !== undefined) return false;
  for (let cause: unknown = error.originalError; cause !== undefined && cause !== null; cause = cause.originalError) {
    if (!(cause instanceof GraphQLError)) return false;
  }
  return true;
}

/** A result with no data whose request errors now say BAD_USER_INPUT (400); null when there is nothing to change. */
function withRequestErrorCodes(result: ExecutionResult): ExecutionResult | null {
  if (result.data !== undefined || !result.errors?.some(isRequestError)) return null;
  const errors = result.errors.map((error) =>
    isRequestError(error)
      ? new GraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          extensions: { ...error.extensions, code: 'BAD_USER_INPUT' satisfies ErrorCode, http: { status: 400 } },
        })
      : error,
  );
  return { ...result, errors };
}

function rateLimited(message: string, limit: string): GraphQLError {
  return clientError('RATE_LIMITED', message, { limit, http: { status: 429 } });
}

/**
 * An operation that never reached execution (it did not parse, or did not
 * validate) costs the tenant an operation like any other: otherwise broken
 * documents would be free to send. The RATE_LIMITED error when the bucket is
 * empty, to answer instead of the document's own errors; null otherwise.
 */
export function chargeUnexecuted(limiter: TenantLimiter, metrics: GatewayMetrics, tenant: TenantRecord): GraphQLError | null {
  if (limiter.tryOperation(tenant)) return null;
  metrics.rateLimited.inc({ tenant: tenant.id, limit: 'operations' });
  return rateLimited(`tenant operation rate exceeded (${limiter.limitsFor(tenant).operationsPerSecond}/s)`, 'operations');
}

/**
 * Rejects documents with more than `maxTokens` lexical tokens before they are
 * fully parsed, and documents nested so deeply that graphql-js's recursive
 * parser would overflow the stack: both are syntax errors (HTTP 400).
 */
export function useMaxTokens(maxTokens: number): Plugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source: string | Source, options?: ParseOptions) => {
        try {
          return parse(source, { ...options, maxTokens });
        } catch (error) {
          if (error instanceof RangeError) throw new GraphQLError('Syntax Error: the document is nested too deeply.');
          throw error;
        }
      });
    },
  };
}

/**
 * Per-tenant admission for every operation on both transports (operation
 * rate, concurrent subscriptions), then its database work in the tenant's
 * share (see OperationDatabaseShare), plus the operation log and metrics.
 * Logs carry request id, tenant and operation; never variables or job data.
 */
export function useTenantOperations(limiter: TenantLimiter, metrics: GatewayMetrics, databaseShare: OperationDatabaseShare): Plugin<Context> {
  const countErrors = (context: Context, result: ExecutionResult) => {
    for (const error of result.errors ?? []) {
      const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'INTERNAL_SERVER_ERROR';
      metrics.errors.inc({ tenant: context.viewer.tenant.id, code });
      if (code === 'INTERNAL_SERVER_ERROR') context.logger.error({ err: error.originalError ?? error }, 'operation failed');
    }
  };

  /** Contexts whose operation went through `admit`; over HTTP, any other authenticated request failed before execution. */
  const admitted = new WeakSet<object>();

  const admit = (context: Context, type: string, args: OperationArgs) => {
    admitted.add(context);
    const tenant = context.viewer.tenant;
    const operation = operationOfArgs(args);
    const fields = rootFields(operation);
    metrics.operations.inc({ tenant: tenant.id, type, field: rootFieldLabel(operation) });
    context.logger.info({ operation: operation?.name?.value ?? null, type, fields }, 'operation');
    const takeOperation = () => {
      if (limiter.tryOperation(tenant)) return null;
      metrics.rateLimited.inc({ tenant: tenant.id, limit: 'operations' });
      return rateLimited(`tenant operation rate exceeded (${limiter.limitsFor(tenant).operationsPerSecond}/s)`, 'operations');
    };
    if (!onlySettlements(operation)) return takeOperation();
    context.admission.defer(takeOperation, () => limiter.chargeOperation(tenant));
    return null;
  };

  return {
    onExecutionResult({ context, setResult }) {
      if (admitted.has(context)) return;
      const viewer = requestViewer((context as { req?: IncomingMessage }).req);
      const refused = viewer ? chargeUnexecuted(limiter, metrics, viewer.tenant) : null;
      if (refused) setResult({ errors: [refused] });
    },
    onExecute({ args, executeFn, setExecuteFn, setResultAndStopExecution }) {
      const context = args.contextValue;
      const operation = operationOfArgs(args);
      const refused = admit(context, operation?.operation ?? 'query', args);
      if (refused) {
        countErrors(context, { errors: [refused] });
        setResultAndStopExecution({ errors: [refused] });
        return;
      }
      // Settling pushed jobs is never refused, for the database share either: it waits.
      const refusable = !onlySettlements(operation);
      setExecuteFn((executeArgs) => databaseShare.run(context, refusable, (): unknown => executeFn(executeArgs)));
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const refusedLate = context.admission.finish();
          if (refusedLate) {
            const limited = { errors: [refusedLate] };
            setResult(limited);
            countErrors(context, limited);
            return;
          }
          const coded = withRequestErrorCodes(result);
          if (coded) setResult(coded);
          countErrors(context, coded ?? result);
        },
      };
    },
    onSubscribe({ args, setSubscribeFn, setResultAndStopExecution }) {
      const context = args.contextValue;
      const refused = admit(context, 'subscription', args);
      const release = refused ? null : limiter.openSubscription(context.viewer.tenant);
      if (refused || !release) {
        const error =
          refused ?? rateLimited(`tenant subscription limit reached (${limiter.limitsFor(context.viewer.tenant).maxSubscriptions})`, 'subscriptions');
        if (!refused) metrics.rateLimited.inc({ tenant: context.viewer.tenant.id, limit: 'subscriptions' });
        countErrors(context, { errors: [error] });
        setResultAndStopExecution({ errors: [error] });
        return;
      }
      setSubscribeFn((subscribeArgs) => databaseShare.subscribe(subscribeArgs));
      const labels = { tenant: context.viewer.tenant.id, field: rootFieldLabel(operationOfArgs(args)) };
      metrics.subscriptions.inc(labels);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        release();
        metrics.subscriptions.dec(labels);
      };
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) {
            const coded = withRequestErrorCodes(result);
            if (coded) setResult(coded);
            countErrors(context, coded ?? result);
            end();
            return;
          }
          return {
            onNext: ({ result: next }) => countErrors(context, next),
            onEnd: end,
          };
        },
        onSubscribeError: end,
      };
    },
  };
}
