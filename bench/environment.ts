// What a result was measured on, for the report's header and the chart's title.
import * as os from 'node:os';

export interface Environment {
  /** ISO date and time the run started. */
  date: string;
  cpu: string;
  cores: number;
  node: string;
  postgres: string;
  embedded: boolean;
  /** How the run was started, as typed. */
  command: string;
}

export function describeEnvironment(postgres: string, embedded: boolean, command: string): Environment {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.cpus().length,
    node: process.version,
    postgres,
    embedded,
    command,
  };
}

/** `Intel Xeon ..., 2 cores` */
export function machine(env: Environment): string {
  return `${env.cpu}, ${env.cores} cores`;
}

/** `PostgreSQL 15.20` out of `select version()`'s long answer. */
export function shortPostgres(env: Environment): string {
  const version = /^PostgreSQL \S+/.exec(env.postgres)?.[0] ?? env.postgres;
  return env.embedded ? `${version} (embedded PGlite)` : version;
}
