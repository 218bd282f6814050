import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { errorMessage } from '../client.ts';
import { formatTime } from '../format.ts';
import type { JobState } from '../generated/graphql.ts';

export const JOB_STATES: readonly JobState[] = ['CREATED', 'RETRY', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED'];

export const STATE_LABEL: Record<JobState, string> = {
  CREATED: 'created',
  RETRY: 'retry',
  ACTIVE: 'active',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
};

export function StateBadge({ state }: { state: JobState }) {
  return <span className={`badge state-${state.toLowerCase()}`}>{STATE_LABEL[state]}</span>;
}

export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span aria-label="not yet">—</span>;
  return (
    <time dateTime={value} title={new Date(value).toString()}>
      {formatTime(value)}
    </time>
  );
}

export function ErrorNotice({ error, what }: { error: CombinedError | string | undefined | null; what?: string }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : errorMessage(error);
  return (
    <p className="error" role="alert">
      {what ? `${what}: ` : ''}
      {message}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A figure in a card: label above, number below. */
export function Stat({ label, value, tone }: { label: string; value: string; tone?: string }) {
  return (
    <div className={`stat${tone ? ` stat-${tone}` : ''}`}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

interface ConfirmButtonProps {
  /** The button's text, e.g. "Cancel job". */
  label: string;
  /** The dialog's question, e.g. "Cancel this job?" */
  question: string;
  /** What will happen, in a sentence or two. */
  consequence: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  disabled?: boolean;
  /** Shown under the button (and read with it) while it is disabled. */
  disabledReason?: string | undefined;
  danger?: boolean;
  className?: string;
}

/**
 * A button whose action happens only after a confirmation in a modal
 * <dialog> (keyboard: focus moves into it, Escape closes it, focus returns).
 */
export function ConfirmButton({ label, question, consequence, confirmLabel, onConfirm, disabled, disabledReason, danger, className }: ConfirmButtonProps) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const backRef = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const titleId = useId();
  const bodyId = useId();
  const reasonId = useId();

  useEffect(() => {
    const dialog = dialogRef.current;
    return () => dialog?.close();
  }, []);

  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
      dialogRef.current?.close();
    }
  };

  return (
    <span className={`confirm ${className ?? ''}`}>
      <button
        type="button"
        className={danger ? 'danger' : undefined}
        disabled={disabled}
        aria-describedby={disabled && disabledReason ? reasonId : undefined}
        title={disabled ? disabledReason : undefined}
        onClick={() => {
          dialogRef.current?.showModal();
          // The safe choice has the focus: Enter right away changes nothing.
          backRef.current?.focus();
        }}
      >
        {label}
      </button>
      {disabled && disabledReason && (
        <span id={reasonId} className="sr-only">
          {disabledReason}
        </span>
      )}
      <dialog ref={dialogRef} aria-labelledby={titleId} aria-describedby={bodyId} className="confirm-dialog">
        <h2 id={titleId}>{question}</h2>
        <div id={bodyId}>{consequence}</div>
        <div className="dialog-actions">
          <button type="button" className={danger ? 'danger' : 'primary'} disabled={busy} onClick={() => void confirm()}>
            {busy ? 'Working…' : confirmLabel}
          </button>
          <button type="button" ref={backRef} disabled={busy} onClick={() => dialogRef.current?.close()}>
            No, go back
          </button>
        </div>
      </dialog>
    </span>
  );
}
