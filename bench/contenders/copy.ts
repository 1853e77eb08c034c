// Contender 6, the floor: pg + pg-copy-streams. Ids for both tables are drawn
// by hand in one query, then each table is one COPY ... FROM STDIN (text
// format), between BEGIN and COMMIT: 5 statements, 7 round trips.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Workload } from '../workload';
import type { Contender } from './contender';

/** Lines per chunk written to the COPY stream: enough to keep writes cheap, few enough to stream. */
const LINES_PER_CHUNK = 1000;

export const copy: Contender = {
  id: 'copy',
  name: 'COPY (floor)',
  floor: true,
  notOnEmbedded: "COPY FROM STDIN through PGlite's socket server ends the connection (08P01, protocol synchronization was lost)",
  async open({ url, schema }) {
    const client = new Client({ connectionString: url });
    // A connection error also rejects the query under way; without a listener it would end the process.
    client.on('error', () => undefined);
    await client.connect();
    return {
      prepare: (work) => () => copyWorkload(client, schema, work),
      close: () => client.end(),
    };
  },
};

async function copyWorkload(client: Client, schema: string, { n, parents, children }: Workload): Promise<void> {
  await client.query('begin');
  try {
    const { rows } = await client.query<{ p: string[]; c: string[] }>(
      `select array(select nextval('${schema}.parents_id_seq') from generate_series(1, $1)) p,
              array(select nextval('${schema}.children_id_seq') from generate_series(1, $1)) c`,
      [n],
    );
    const { p: parentIds, c: childIds } = rows[0];
    await copyLines(client, `copy ${schema}.parents (id, name, payload) from stdin`, n, (i) =>
      [parentIds[i], parents[i].name, JSON.stringify(parents[i].payload)],
    );
    await copyLines(client, `copy ${schema}.children (id, parent_id, n, note) from stdin`, n, (i) =>
      [childIds[i], parentIds[i], children[i].n, children[i].note],
    );
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

type Field = string | number | null | undefined;

/** Streams `count` lines, the fields of line i from `fieldsOf(i)`, into a COPY FROM STDIN. */
async function copyLines(client: Client, sql: string, count: number, fieldsOf: (i: number) => Field[]): Promise<void> {
  function* chunks(): Generator<string> {
    for (let start = 0; start < count; start += LINES_PER_CHUNK) {
      let chunk = '';
      for (let i = start; i < Math.min(start + LINES_PER_CHUNK, count); i++) chunk += `${fieldsOf(i).map(copyField).join('\t')}\n`;
      yield chunk;
    }
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(sql)));
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One field in COPY's text format: \N for null; backslash, tab, newline and CR escaped. */
export function copyField(value: Field): string {
  if (value === null || value === undefined) return '\\N';
  return String(value).replace(/[\\\t\n\r]/g, (character) => ESCAPES[character]);
}
