/**
 * CPU time of processes, read from Linux's /proc (the benchmarks' machine): a process's user + system
 * time from /proc/<pid>/stat (all its threads, in clock ticks of 10 ms), and the whole machine's busy
 * time from /proc/stat. Where there is no /proc every figure is NaN and the tables say "not measured".
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let tickMs: number | undefined;
function msPerTick(): number {
  if (tickMs === undefined) {
    try {
      tickMs = 1000 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      tickMs = 10;
    }
    if (!Number.isFinite(tickMs) || tickMs <= 0) tickMs = 10;
  }
  return tickMs;
}

/** User + system CPU milliseconds a process has used so far (NaN when it is gone or there is no /proc). */
export function processCpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** The same for a process's main thread alone (its JavaScript thread, for Node.js). */
export function mainThreadCpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuMs(path: string): number {
  try {
    const stat = readFileSync(path, "utf8");
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    return (Number(fields[11]) + Number(fields[12])) * msPerTick();
  } catch {
    return Number.NaN;
  }
}

/** Process ids whose command name is `comm` (e.g. every `postgres` process of the local server). */
export function pidsNamed(comm: string): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU milliseconds of each of `pids` now (a map, so processes that come and go can be diffed). */
export function snapshotCpu(pids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (Number.isFinite(ms)) m.set(pid, ms);
  }
  return m;
}

/**
 * CPU milliseconds used between two snapshots: processes in both count their difference, processes
 * that appeared count all their time; processes that ended meanwhile are lost (their time is unknown).
 */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ms] of after) sum += ms - (before.get(pid) ?? 0);
  return sum;
}

/** The machine's busy and total CPU milliseconds so far, over every core (from /proc/stat). */
export function machineCpuMs(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy: busy * msPerTick(), total: (busy + idle + iowait) * msPerTick() };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/**
 * Minor page faults of a process so far (/proc/<pid>/stat field 10: a page mapped on first touch,
 * e.g. a PostgreSQL backend's first use of each shared buffer); NaN where there is no /proc.
 */
export function minorFaults(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // minflt is field 10: the 8th after the command name.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
  } catch {
    return Number.NaN;
  }
}
