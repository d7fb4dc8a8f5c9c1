// Lets `node --import ./bench/register.js bench/NAME.ts` run the TypeScript benchmarks directly.
import { register } from 'tsx/esm/api';

register();
