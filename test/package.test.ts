// The package as a user installs it: built to dist/, loaded by require and
// import, with type declarations that fit existing knex code.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('the built package', function () {
  this.timeout(120_000);

  it('loads with require and with import', () => {
    const exported = '[typeof m.batchTransaction, typeof m.withBatchInserts, typeof m.BatchInsertError].join()';
    expect(run(['-e', `const m = require('knex-batch-inserts'); console.log(${exported})`]).trim()).to.equal('function,function,function');
    expect(run(['--input-type=module', '-e', `import * as m from 'knex-batch-inserts'; console.log(${exported})`]).trim())
      .to.equal('function,function,function');
    expect(run(['--input-type=module', '-e', "import { batchTransaction } from 'knex-batch-inserts'; console.log(typeof batchTransaction)"]).trim())
      .to.equal('function');
  });

  it('type-checks code that uses it with existing knex types, as CommonJS and as an ES module', () => {
    const tsc = require.resolve('typescript/bin/tsc');
    const options = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', '--skipLibCheck'];
    const esm = path.join(root, 'test/fixtures/consumer.generated.mts'); // the same code, as an ES module
    fs.copyFileSync(path.join(root, 'test/fixtures/consumer.ts'), esm);
    try {
      run([tsc, ...options, 'test/fixtures/consumer.ts', esm]);
    } finally {
      fs.rmSync(esm);
    }
  });
});
