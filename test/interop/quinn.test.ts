// Interoperability with quinn: the matrix of ./matrix.ts against the quinn perf peer (./quinn-perf, quinn
// and rustls on ring pinned in its Cargo.lock, built by scripts/build-interop.sh from crates.io).
import { describeInterop } from './matrix.js';

describeInterop('quinn');
