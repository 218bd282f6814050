import { useEffect, useId, useMemo, useState, type ReactNode } from 'react';
import { Area, AreaChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatClock, formatCount } from '../format.ts';

export interface HistoryPoint {
  at: string;
  created: number;
  completed: number;
  failed: number;
  cancelled: number;
  queued: number;
  active: number;
}

interface ChartPoint extends Omit<HistoryPoint, 'at'> {
  time: number;
}

const COLORS = {
  created: '#1d4ed8',
  completed: '#15803d',
  failed: '#b91c1c',
  queued: '#7c3aed',
  active: '#c2410c',
};

/** Re-renders every `ms` (no request: the series is extended locally). */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/**
 * The fetched series moved on to `now`: intervals since the last fetch had no
 * events (any event refetches), so they have no throughput and the last depth.
 */
export function extendSeries(points: readonly HistoryPoint[], now: number, intervalMs: number): ChartPoint[] {
  const series: ChartPoint[] = points.map(({ at, ...rest }) => ({ ...rest, time: Date.parse(at) }));
  const size = series.length;
  let last = series.at(-1);
  while (last && last.time + intervalMs <= now) {
    last = { time: last.time + intervalMs, created: 0, completed: 0, failed: 0, cancelled: 0, queued: last.queued, active: last.active };
    series.push(last);
  }
  return series.slice(-size);
}

function ChartFigure({ title, summary, children }: { title: string; summary: string; children: ReactNode }) {
  const titleId = useId();
  return (
    <figure className="chart" aria-labelledby={titleId}>
      <figcaption id={titleId}>
        <span className="chart-title">{title}</span> <span className="muted">{summary}</span>
      </figcaption>
      <div className="chart-box">{children}</div>
    </figure>
  );
}

export function QueueCharts({ points, intervalSeconds }: { points: readonly HistoryPoint[]; intervalSeconds: number }) {
  const now = useNow(15_000);
  const series = useMemo(() => extendSeries(points, now, intervalSeconds * 1000), [points, now, intervalSeconds]);
  const totals = series.reduce(
    (sum, point) => ({ created: sum.created + point.created, completed: sum.completed + point.completed, failed: sum.failed + point.failed }),
    { created: 0, completed: 0, failed: 0 },
  );
  const latest = series.at(-1);
  const busyRows = series.filter((p) => p.created || p.completed || p.failed || p.queued || p.active).reverse();
  const perInterval = intervalSeconds === 60 ? 'per minute' : `per ${intervalSeconds} s`;

  const table = (
    <table>
      <caption className="sr-only">Intervals with activity, newest first</caption>
      <thead>
        <tr>
          <th scope="col">From</th>
          <th scope="col">Created</th>
          <th scope="col">Completed</th>
          <th scope="col">Failed</th>
          <th scope="col">Queued</th>
          <th scope="col">Active</th>
        </tr>
      </thead>
      <tbody>
        {busyRows.length === 0 && (
          <tr>
            <td colSpan={6}>No activity in the last hour.</td>
          </tr>
        )}
        {busyRows.map((p) => (
          <tr key={p.time}>
            <th scope="row">{formatClock(p.time)}</th>
            <td>{formatCount(p.created)}</td>
            <td>{formatCount(p.completed)}</td>
            <td>{formatCount(p.failed)}</td>
            <td>{formatCount(p.queued)}</td>
            <td>{formatCount(p.active)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );

  const axes = (
    <>
      <CartesianGrid strokeDasharray="3 3" stroke="#d4d4d8" />
      <XAxis
        dataKey="time"
        type="number"
        scale="time"
        domain={['dataMin', 'dataMax']}
        tickFormatter={formatClock}
        tick={{ fill: '#3f3f46', fontSize: 12 }}
        minTickGap={24}
      />
      <YAxis allowDecimals={false} tick={{ fill: '#3f3f46', fontSize: 12 }} width={48} tickFormatter={(value: number) => formatCount(value)} />
      <Tooltip labelFormatter={(value) => formatClock(Number(value))} formatter={(value) => formatCount(Number(value))} />
      <Legend wrapperStyle={{ fontSize: 13 }} itemSorter={null} />
    </>
  );

  return (
    <div className="charts">
      <ChartFigure
        title={`Throughput ${perInterval}, last hour`}
        summary={`${formatCount(totals.created)} created, ${formatCount(totals.completed)} completed, ${formatCount(totals.failed)} failed`}
      >
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={series} margin={{ top: 8, right: 12, bottom: 0, left: 0 }} accessibilityLayer>
            {axes}
            <Line type="monotone" dataKey="created" name="Created" stroke={COLORS.created} strokeWidth={2} dot={false} isAnimationActive={false} />
            <Line type="monotone" dataKey="completed" name="Completed" stroke={COLORS.completed} strokeWidth={2} dot={false} isAnimationActive={false} />
            <Line
              type="monotone"
              dataKey="failed"
              name="Failed"
              stroke={COLORS.failed}
              strokeWidth={2}
              strokeDasharray="6 3"
              dot={false}
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </ChartFigure>
      <ChartFigure title="Queue depth, last hour" summary={latest ? `now ${formatCount(latest.queued)} queued, ${formatCount(latest.active)} active` : ''}>
        <ResponsiveContainer width="100%" height={220}>
          <AreaChart data={series} margin={{ top: 8, right: 12, bottom: 0, left: 0 }} accessibilityLayer>
            {axes}
            <Area
              type="stepAfter"
              dataKey="queued"
              name="Queued"
              stackId="depth"
              stroke={COLORS.queued}
              fill={COLORS.queued}
              fillOpacity={0.25}
              isAnimationActive={false}
            />
            <Area
              type="stepAfter"
              dataKey="active"
              name="Active"
              stackId="depth"
              stroke={COLORS.active}
              fill={COLORS.active}
              fillOpacity={0.25}
              isAnimationActive={false}
            />
          </AreaChart>
        </ResponsiveContainer>
      </ChartFigure>
      <details className="chart-data">
        <summary>Chart data as a table</summary>
        <div className="table-wrap">{table}</div>
      </details>
    </div>
  );
}
