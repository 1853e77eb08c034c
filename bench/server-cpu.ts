// CPU time the PostgreSQL server spends, read from /proc: the user and
// system time of every process named `postgres` on this machine (the
// backends, the WAL writer and the rest). Only meaningful when the server
// runs here, and only on Linux; elsewhere there is nothing to read.
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ) on every common architecture. */
const MS_PER_TICK = 10;

/** Milliseconds of CPU used so far by the local PostgreSQL processes, or undefined if none can be read. */
export function serverCpuMs(): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  let ticks = 0;
  let found = false;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
    const fields = stat.slice(close + 2).split(' '); // from field 3 (state) on: utime and stime are fields 14 and 15
    ticks += Number(fields[11]) + Number(fields[12]);
    found = true;
  }
  return found ? ticks * MS_PER_TICK : undefined;
}

/** Whether a database URL names this machine. */
export function isLocal(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]', ''].includes(url.hostname);
}
