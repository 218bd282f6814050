import type { Client } from 'graphql-ws';
import { wsClient } from './clients.ts';
import type { TestGateway } from './gateway.ts';
import { sendJob } from './operations.ts';
import { collect, type Collected } from './subscriptions.ts';

export interface JobEventData {
  jobEvents: { type: string; queue: string; jobId: string; state: string; retryCount: number };
}

const EVENTS = `subscription($queue: String, $jobId: ID, $types: [JobEventType!]) {
  jobEvents(queue: $queue, jobId: $jobId, types: $types) { type queue jobId state retryCount }
}`;

/** jobEvents subscriptions of one tenant, each live (a probe job's CREATED arrived) before it is returned. */
export function eventStreams(gateway: TestGateway, token: string) {
  const clients: Client[] = [];
  return {
    async subscribe(variables: Record<string, unknown>): Promise<Collected<JobEventData>> {
      const client = wsClient(gateway.wsUrl, { token });
      clients.push(client);
      const probeQueue = `probe-${Math.random().toString(36).slice(2)}`;
      const sub = collect<JobEventData>(client, EVENTS, variables);
      const probe = collect<JobEventData>(client, EVENTS, { queue: probeQueue });
      for (let attempt = 0; ; attempt++) {
        const id = await sendJob(gateway, token, probeQueue);
        try {
          await probe.waitFor((d) => d.jobEvents.jobId === id, 300);
          break;
        } catch (error) {
          if (attempt > 20) throw error;
        }
      }
      probe.stop();
      return sub;
    },
    close: () => Promise.all(clients.map((client) => client.dispose())),
  };
}

/** The events of one job seen so far, as `TYPE:state`. */
export function eventsOf(sub: Collected<JobEventData>, jobId: string): string[] {
  return sub.results.flatMap((r) => (r.data?.jobEvents.jobId === jobId ? [`${r.data.jobEvents.type}:${r.data.jobEvents.state}`] : []));
}
