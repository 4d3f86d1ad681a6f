/**
 * Counters of the calls the node makes to the station, in Prometheus text format at /metrics.
 * Per process (each process behind a load balancer exposes its own, as Prometheus expects).
 */
const calls = new Map<string, number>();
const latency = new Map<string, { sum: number; count: number }>();

export function countStationCall(operation: string, outcome: string, faultCode: string | undefined, ms: number): void {
  const key = `operation="${operation}",outcome="${outcome}",fault="${faultCode ?? ''}"`;
  calls.set(key, (calls.get(key) ?? 0) + 1);
  const l = latency.get(operation) ?? { sum: 0, count: 0 };
  l.sum += ms / 1000;
  l.count += 1;
  latency.set(operation, l);
}

/** The station's worker threads (station-pool.ts). */
export interface StationPoolMetrics {
  workersReady: number;
  answeredByWorkers: number;
}

export function renderMetrics(pool: StationPoolMetrics): string {
  const lines = [
    '# HELP saelpay_pagopa_station_calls_total Calls of the pagoPA node to the station, by operation, outcome and fault code.',
    '# TYPE saelpay_pagopa_station_calls_total counter',
    ...[...calls].map(([k, v]) => `saelpay_pagopa_station_calls_total{${k}} ${v}`),
    '# HELP saelpay_pagopa_station_seconds Time spent answering the node.',
    '# TYPE saelpay_pagopa_station_seconds summary',
    ...[...latency].flatMap(([op, l]) => [
      `saelpay_pagopa_station_seconds_sum{operation="${op}"} ${l.sum.toFixed(6)}`,
      `saelpay_pagopa_station_seconds_count{operation="${op}"} ${l.count}`,
    ]),
    '# HELP saelpay_pagopa_station_workers Worker threads ready to answer the node\'s read-only calls.',
    '# TYPE saelpay_pagopa_station_workers gauge',
    `saelpay_pagopa_station_workers ${pool.workersReady}`,
    '# HELP saelpay_pagopa_station_worker_calls_total Read-only calls of the node answered by a worker thread.',
    '# TYPE saelpay_pagopa_station_worker_calls_total counter',
    `saelpay_pagopa_station_worker_calls_total ${pool.answeredByWorkers}`,
  ];
  return `${lines.join('\n')}\n`;
}
