import { useId, useState, type FormEvent } from 'react';
import { createHttpClient, errorMessage, isUnauthenticated } from '../client.ts';
import { graphql } from '../generated/index.ts';
import type { ViewerInfo } from '../viewer.ts';

const ViewerQuery = graphql(`
  query DashboardViewer {
    viewer {
      tenant {
        id
        name
      }
      scopes
    }
  }
`);

export type TokenCheck = { ok: true; viewer: ViewerInfo } | { ok: false; message: string };

export const REFUSED_MESSAGE = 'That token was not accepted: it is unknown, revoked or expired. Check it and try again.';

/** Asks the gateway who a token belongs to (query `viewer`), over HTTP. */
export async function checkToken(token: string): Promise<TokenCheck> {
  const result = await createHttpClient(token).query(ViewerQuery, {}, { requestPolicy: 'network-only' }).toPromise();
  if (isUnauthenticated(result.error)) return { ok: false, message: REFUSED_MESSAGE };
  if (result.error) return { ok: false, message: errorMessage(result.error) };
  if (!result.data) return { ok: false, message: 'The gateway gave no answer.' };
  return { ok: true, viewer: result.data.viewer };
}

export function SignIn({ onSignedIn, notice }: { onSignedIn: (token: string, viewer: ViewerInfo) => void; notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fieldId = useId();
  const hintId = useId();
  const errorId = useId();

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('Paste an API token first.');
      return;
    }
    setBusy(true);
    setError(null);
    const check = await checkToken(value).catch((failure: unknown) => ({ ok: false as const, message: `Could not reach the gateway (${String(failure)}).` }));
    setBusy(false);
    if (check.ok) onSignedIn(value, check.viewer);
    else setError(check.message);
  };

  return (
    <main id="main" className="signin">
      <div className="signin-card">
        <h1>
          <span className="brand-mark" aria-hidden="true" /> Jobgate dashboard
        </h1>
        <p className="muted">Your queues, jobs, workers and schedules, live.</p>
        {notice && !error && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <form method="post" onSubmit={(event) => void submit(event)} noValidate>
          <label htmlFor={fieldId}>API token</label>
          <input
            id={fieldId}
            name="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            autoFocus
            required
            value={token}
            onChange={(event) => setToken(event.target.value)}
            aria-describedby={error ? `${hintId} ${errorId}` : hintId}
            aria-invalid={error ? true : undefined}
          />
          <p id={hintId} className="hint">
            Issued with <code>jobgate tokens issue</code>. It is kept in this browser tab only, until you sign out or close it.
          </p>
          {error && (
            <p id={errorId} className="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
