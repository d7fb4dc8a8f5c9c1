#!/usr/bin/env node
// The process's streams and signals are taken before the CLI loads: a signal that arrives while it starts
// still ends it cleanly (exit 130 or 143, nothing half-written).
import { processIo } from '../dist/cli/process-io.js';

const io = processIo();
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2), io);
