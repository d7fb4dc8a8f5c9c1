// Every test file gets a history store of its own in a fresh temporary directory: `run` records every run
// into the store by default, and no test may write to the real home directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.STOQ_BENCH_STORE = join(mkdtempSync(join(tmpdir(), 'stoq-store-')), 'history.db');
