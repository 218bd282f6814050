import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorMessage } from '../client.ts';
import { formatCount } from '../format.ts';
import { graphql } from '../generated/index.ts';
import { Link } from '../router.tsx';
import { useViewer } from '../viewer.ts';
import { ConfirmButton, ErrorNotice } from './common.tsx';
import { TypedConfirmButton } from './TypedConfirmButton.tsx';

const PreviewRedrive = graphql(`
  query DashboardPreviewRedrive($queue: String!) {
    previewRedrive(queue: $queue) {
      total
      unroutable
      destinations {
        queue
        count
      }
    }
  }
`);

const RedriveJobs = graphql(`
  mutation DashboardRedriveJobs($queue: String!) {
    redriveJobs(queue: $queue)
  }
`);

const DeleteQueued = graphql(`
  mutation DashboardDeleteQueuedJobs($queue: String!) {
    deleteQueuedJobs(queue: $queue)
  }
`);

const DeleteStored = graphql(`
  mutation DashboardDeleteStoredJobs($queue: String!) {
    deleteStoredJobs(queue: $queue)
  }
`);

const DeleteAll = graphql(`
  mutation DashboardDeleteAllJobs($queue: String!) {
    deleteAllJobs(queue: $queue)
  }
`);

const jobs = (count: number) => `${formatCount(count)} ${count === 1 ? 'job' : 'jobs'}`;

type Outcome = { ok: boolean; message: string } | null;

function OutcomeLine({ outcome }: { outcome: Outcome }) {
  if (!outcome) return null;
  return (
    <p className={outcome.ok ? 'success' : 'error'} role={outcome.ok ? 'status' : 'alert'}>
      {outcome.message}
    </p>
  );
}

/**
 * Dead letters: shown only when the queue holds jobs a redrive would move.
 * The preview says where they would go; the redrive is confirmed first.
 */
export function RedrivePanel({ queue, onChanged }: { queue: string; onChanged: () => void }) {
  const viewer = useViewer();
  const [preview, refetch] = useQuery({ query: PreviewRedrive, variables: { queue }, requestPolicy: 'cache-and-network' });
  const [, redrive] = useMutation(RedriveJobs);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const found = preview.data?.previewRedrive;
  const movable = found ? found.destinations.reduce((sum, d) => sum + d.count, 0) : 0;
  if (!found || (movable === 0 && !outcome)) return null;

  const run = async () => {
    setOutcome(null);
    const result = await redrive({ queue });
    if (result.error) setOutcome({ ok: false, message: `Could not redrive: ${errorMessage(result.error)}` });
    else setOutcome({ ok: true, message: `Redrove ${jobs(result.data?.redriveJobs ?? 0)}.` });
    refetch({ requestPolicy: 'network-only' });
    onChanged();
  };

  return (
    <section aria-labelledby="redrive-title" className="panel">
      <h2 id="redrive-title">Dead letters</h2>
      <ErrorNotice error={preview.error} what="Could not preview the redrive" />
      {movable > 0 ? (
        <>
          <p>
            {jobs(movable)} here can go back for another try:{' '}
            {found.destinations.map((d, index) => (
              <span key={d.queue}>
                {index > 0 && ', '}
                {formatCount(d.count)} to <Link to={{ name: 'queue', queue: d.queue }}>{d.queue}</Link>
              </span>
            ))}
            .{found.unroutable > 0 && ` ${jobs(found.unroutable)} would stay: their queue is gone or unknown.`}
          </p>
          <ConfirmButton
            label="Redrive…"
            question={`Redrive ${jobs(movable)}?`}
            consequence={
              <>
                <p>Each goes back to its queue as a new job with that queue's options; it leaves this dead letter queue.</p>
                <ul>
                  {found.destinations.map((d) => (
                    <li key={d.queue}>
                      {jobs(d.count)} to {d.queue}
                    </li>
                  ))}
                </ul>
              </>
            }
            confirmLabel="Yes, redrive"
            disabled={!viewer.canPublish}
            disabledReason="Needs a token with the PUBLISH scope."
            onConfirm={run}
          />
        </>
      ) : (
        <p className="muted">Nothing left to redrive.</p>
      )}
      <OutcomeLine outcome={outcome} />
    </section>
  );
}

/** Bulk deletes of the queue's jobs, each confirmed by typing the queue's name. */
export function PurgePanel({ queue, onChanged }: { queue: string; onChanged: () => void }) {
  const viewer = useViewer();
  const [, deleteQueued] = useMutation(DeleteQueued);
  const [, deleteStored] = useMutation(DeleteStored);
  const [, deleteAll] = useMutation(DeleteAll);
  const [outcome, setOutcome] = useState<Outcome>(null);

  const run = async (what: string, action: () => Promise<{ error?: Parameters<typeof errorMessage>[0] | undefined; count: number | undefined }>) => {
    setOutcome(null);
    const { error, count } = await action();
    if (error) setOutcome({ ok: false, message: `Could not delete ${what}: ${errorMessage(error)}` });
    else setOutcome({ ok: true, message: `Deleted ${jobs(count ?? 0)}.` });
    onChanged();
  };
  const common = { phrase: queue, disabled: !viewer.canPublish, disabledReason: 'Needs a token with the PUBLISH scope.' };

  return (
    <section aria-labelledby="purge-title" className="panel">
      <h2 id="purge-title">Delete jobs</h2>
      <p className="muted">For good: deleted jobs cannot be brought back. The queue and its options stay.</p>
      <div className="dialog-actions">
        <TypedConfirmButton
          {...common}
          label="Delete waiting jobs…"
          question={`Delete the waiting jobs of ${queue}?`}
          consequence={<p>Every created, deferred and retrying job of the queue is deleted. Active and finished jobs stay.</p>}
          confirmLabel="Delete waiting jobs"
          onConfirm={() =>
            run('the waiting jobs', async () => {
              const result = await deleteQueued({ queue });
              return { error: result.error, count: result.data?.deleteQueuedJobs };
            })
          }
        />
        <TypedConfirmButton
          {...common}
          label="Delete finished jobs…"
          question={`Delete the finished jobs of ${queue}?`}
          consequence={<p>Every completed, cancelled and failed job the queue keeps is deleted.</p>}
          confirmLabel="Delete finished jobs"
          onConfirm={() =>
            run('the finished jobs', async () => {
              const result = await deleteStored({ queue });
              return { error: result.error, count: result.data?.deleteStoredJobs };
            })
          }
        />
        <TypedConfirmButton
          {...common}
          label="Delete all jobs…"
          question={`Delete every job of ${queue}?`}
          consequence={<p>Every job of the queue is deleted, active ones too: their workers can no longer complete them.</p>}
          confirmLabel="Delete all jobs"
          onConfirm={() =>
            run('the jobs', async () => {
              const result = await deleteAll({ queue });
              return { error: result.error, count: result.data?.deleteAllJobs };
            })
          }
        />
      </div>
      <OutcomeLine outcome={outcome} />
    </section>
  );
}
