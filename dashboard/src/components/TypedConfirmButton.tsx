import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

interface TypedConfirmButtonProps {
  label: string;
  question: string;
  consequence: ReactNode;
  /** What the user must type to enable the confirmation (the queue's name). */
  phrase: string;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  disabled?: boolean;
  disabledReason?: string | undefined;
}

/**
 * A destructive button confirmed in a modal <dialog> by typing `phrase`:
 * the confirmation stays disabled until the text matches exactly.
 */
export function TypedConfirmButton({ label, question, consequence, phrase, confirmLabel, onConfirm, disabled, disabledReason }: TypedConfirmButtonProps) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const ids = { title: useId(), body: useId(), input: useId(), reason: useId() };

  useEffect(() => {
    const dialog = dialogRef.current;
    return () => dialog?.close();
  }, []);

  const matches = typed === phrase;
  const confirm = async () => {
    if (!matches) return;
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
      setTyped('');
      dialogRef.current?.close();
    }
  };

  return (
    <span className="confirm">
      <button
        type="button"
        className="danger"
        disabled={disabled}
        aria-describedby={disabled && disabledReason ? ids.reason : undefined}
        title={disabled ? disabledReason : undefined}
        onClick={() => {
          setTyped('');
          dialogRef.current?.showModal();
          inputRef.current?.focus();
        }}
      >
        {label}
      </button>
      {disabled && disabledReason && (
        <span id={ids.reason} className="sr-only">
          {disabledReason}
        </span>
      )}
      <dialog ref={dialogRef} aria-labelledby={ids.title} aria-describedby={ids.body} className="confirm-dialog" onClose={() => setTyped('')}>
        <h2 id={ids.title}>{question}</h2>
        <div id={ids.body}>{consequence}</div>
        <form
          method="dialog"
          onSubmit={(event) => {
            event.preventDefault();
            void confirm();
          }}
        >
          <div className="field">
            <label htmlFor={ids.input}>
              Type <strong className="mono">{phrase}</strong> to confirm
            </label>
            <input
              ref={inputRef}
              id={ids.input}
              value={typed}
              onChange={(event) => setTyped(event.target.value)}
              autoComplete="off"
              spellCheck={false}
              className="mono"
            />
          </div>
          <div className="dialog-actions">
            <button type="submit" className="danger" disabled={busy || !matches}>
              {busy ? 'Working…' : confirmLabel}
            </button>
            <button type="button" disabled={busy} onClick={() => dialogRef.current?.close()}>
              No, go back
            </button>
          </div>
        </form>
      </dialog>
    </span>
  );
}
