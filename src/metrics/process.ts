import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The process's own metrics, as every Node exporter names them (process_resident_memory_bytes,
 * nodejs_heap_size_used_bytes, nodejs_eventloop_lag_p99_seconds, process_cpu_seconds_total, GC…).
 * One per process, made by whoever owns the process (the CLI) and handed to the gateway through
 * its deps: the collectors run for the life of the process and cannot be stopped, so several
 * gateways in one process share one rather than each starting their own.
 */
export function createProcessMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
