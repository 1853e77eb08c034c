// Contender 3: Objection.js insertGraph, a Parent model with a HasMany
// `children` relation; Objection writes each table in batches and fills in
// the children's parent_id itself.
import { Model } from 'objection';
import type { Payload } from '../workload';
import type { Contender } from './contender';
import { connectKnex } from './knex-connection';

// `declare` so that class-field semantics do not put undefined properties on every instance.
class Child extends Model {
  static override tableName = 'children';
  declare id: string;
  declare parent_id: string;
  declare n: number;
  declare note: string;
}

class Parent extends Model {
  static override tableName = 'parents';
  static override jsonAttributes = ['payload'];
  static override relationMappings = () => ({
    children: { relation: Model.HasManyRelation, modelClass: Child, join: { from: 'parents.id', to: 'children.parent_id' } },
  });
  declare id: string;
  declare name: string;
  declare payload: Payload;
  declare children: Child[];
}

export const objection: Contender = {
  id: 'objection',
  name: 'Objection insertGraph',
  async open(context) {
    const knex = connectKnex(context);
    Model.knex(knex);
    return {
      prepare({ parents, children }) {
        const graph = parents.map((parent, i) => ({ ...parent, children: [{ ...children[i] }] }));
        return () => Parent.transaction(async (trx) => void (await Parent.query(trx).insertGraph(graph)));
      },
      close: () => knex.destroy(),
    };
  },
};
