// What the benchmark reads about the processes it measures, from /proc (Linux): CPU time, resident
// memory and its high-water mark, the processes a gateway forked (its workers), the open-file limit.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (USER_HZ: 100 on every Linux build that matters). */
const TICKS_PER_SECOND = 100;

/** User + system CPU time of one process (all its threads), in ms; NaN when it is gone. */
export function cpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** The direct children of a process (a gateway's cluster workers). */
export function childPids(pid: number | undefined): number[] {
  if (!pid) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU time of a process and its children (a supervisor and its workers), in ms. */
export function treeCpuMs(pid: number | undefined): number {
  return [pid, ...childPids(pid)].reduce<number>((sum, each) => sum + (cpuMs(each) || 0), 0);
}

export interface MemoryStatus {
  rssMB: number;
  /** Peak resident set size (VmHWM) since the process started. */
  hwmMB: number;
}

export function procStatus(pid: number | undefined): MemoryStatus {
  if (!pid) return { rssMB: NaN, hwmMB: NaN };
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMB: NaN, hwmMB: NaN };
  }
}

/** Sum over a process and its children: RSS now, and the sum of their peaks (each peaked on its own). */
export function treeStatus(pid: number | undefined): MemoryStatus {
  const all = [pid, ...childPids(pid)].map(procStatus);
  return { rssMB: all.reduce((sum, each) => sum + (each.rssMB || 0), 0), hwmMB: all.reduce((sum, each) => sum + (each.hwmMB || 0), 0) };
}

/** This process's open-file limit (soft); children inherit it. */
export function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((each) => each.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return NaN;
  }
}
