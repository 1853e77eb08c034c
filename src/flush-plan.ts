// Groups queued inserts into statements and orders the groups so that the
// outcome is the one plain sequential code would have had.
//
// The queue itself is always a safe order: it is the order in which plain
// code would have sent the inserts, one statement each. Grouping reorders
// rows, which is safe between tables when parents go before children, and
// within a table when every row is simply inserted. Two kinds of tables keep
// queue order instead, cut into runs of consecutive inserts with the same
// group key, each run sent in its place:
//   - tables in a foreign-key cycle (including a table referencing itself).
//     Non-deferred foreign keys are checked at the end of each statement, so
//     a run may hold rows that reference each other in any order;
//   - tables with ON CONFLICT inserts in the flush: which of two conflicting
//     rows is written, and which update wins, depends on their order;
//   - tables with columns besides a pre-allocated key that take values from
//     a sequence: those values follow the order of statements.
// When the flush touches a table the catalog does not know (a view, a
// temporary table), the whole flush keeps queue order.
import type { InsertSpec } from './insert-spec';
import type { TableMeta } from './table-metadata';

export interface PlannedInsert {
  spec: InsertSpec;
  meta: TableMeta | undefined;
}

/** Inserts that go into the same statements, in queue order. */
export interface Group<T extends PlannedInsert> {
  meta: TableMeta | undefined;
  inserts: T[];
}

/** Splits inserts (in queue order) into groups, in the order they must be sent. */
export function planGroups<T extends PlannedInsert>(inserts: readonly T[]): Group<T>[] {
  // a table not in the catalog (a view, a temporary table) has foreign keys we do not know
  if (inserts.some(({ meta }) => meta === undefined)) return runs([...inserts]);
  const tables = new Map<string, T[]>();
  for (const insert of inserts) {
    const id = tableKey(insert);
    const list = tables.get(id);
    if (list) list.push(insert);
    else tables.set(id, [insert]);
  }
  const groups: Group<T>[] = [];
  for (const component of parentsFirst(tables)) {
    const single = component.length === 1 ? tables.get(component[0])! : undefined;
    const ordered = single && (referencesItself(single[0]) || single[0].meta?.sequencedColumns || single.some(({ spec }) => spec.conflict));
    if (single && !ordered) groups.push(...byGroupKey(single));
    else groups.push(...runs(inserts.filter((insert) => component.includes(tableKey(insert)))));
  }
  return groups;
}

function tableKey({ spec, meta }: PlannedInsert): string {
  return meta?.id ?? JSON.stringify(spec.table);
}

function referencesItself({ meta }: PlannedInsert): boolean {
  return meta !== undefined && meta.parents.includes(meta.id);
}

/** One group per group key, in order of first appearance. */
function byGroupKey<T extends PlannedInsert>(inserts: T[]): Group<T>[] {
  const groups = new Map<string, Group<T>>();
  for (const insert of inserts) {
    const group = groups.get(insert.spec.groupKey);
    if (group) group.inserts.push(insert);
    else groups.set(insert.spec.groupKey, { meta: insert.meta, inserts: [insert] });
  }
  return [...groups.values()];
}

/** Maximal runs of consecutive inserts with the same group key. */
function runs<T extends PlannedInsert>(inserts: T[]): Group<T>[] {
  const groups: Group<T>[] = [];
  for (const insert of inserts) {
    const last = groups[groups.length - 1];
    if (last && last.inserts[0].spec.groupKey === insert.spec.groupKey) last.inserts.push(insert);
    else groups.push({ meta: insert.meta, inserts: [insert] });
  }
  return groups;
}

/**
 * Strongly connected components of the foreign-key graph restricted to the
 * queued tables (Tarjan), parents before children. With edges pointing from
 * child to parent, Tarjan emits a component only after every component it
 * reaches, so parents come out first. Tables are visited in queue order,
 * which keeps the result deterministic.
 */
function parentsFirst<T extends PlannedInsert>(tables: Map<string, T[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const parentsOf = (id: string) => (tables.get(id)![0].meta?.parents ?? []).filter((parent) => tables.has(parent));

  const visit = (id: string) => {
    index.set(id, index.size);
    low.set(id, index.get(id)!);
    stack.push(id);
    onStack.add(id);
    for (const parent of parentsOf(id)) {
      if (!index.has(parent)) {
        visit(parent);
        low.set(id, Math.min(low.get(id)!, low.get(parent)!));
      } else if (onStack.has(parent)) {
        low.set(id, Math.min(low.get(id)!, index.get(parent)!));
      }
    }
    if (low.get(id) === index.get(id)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== id);
      components.push(component);
    }
  };
  for (const id of tables.keys()) if (!index.has(id)) visit(id);
  return components;
}
