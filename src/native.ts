// The generated binding, loaded once. Internal: users import the API in `index.ts`, not this.
import * as binding from '../index.js';

export const native = binding;
export type { RunOutput, RunConfig, ServerConfig } from '../index.js';
