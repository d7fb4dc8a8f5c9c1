// The layers of stoq-bench, in the order data flows through them: a module may import from its own layer
// and the layers before it, never from a later one, and no import cycle is allowed (types included).
//   base      errors, units, files, escaping text from outside, the loaded binding and the types generated from the engine
//   scenario  a workload as data, and what each kind measures
//   engine    running scenarios and servers on the engine, the testbed's identity and its clock's sync
//   record    run records and reading them
//   stats     statistics of runs
//   fleet     sessions over many client hosts: their Kubernetes manifests, merging and collecting their records
//   store     the history store and baselines
//   grade     comparisons, validations, claims
//   report    renderers, monitoring, the testbed description
//   cli       the command line and the public API
const LAYERS = [
  ['base', '^src/(errors|units|version|files|escape|native)[.]ts$|^src/generated/'],
  ['scenario', '^src/(scenario|kinds)[.]ts$'],
  ['engine', '^src/(run|server)[.]ts$|^src/environment/(fingerprint|clock)[.]ts$'],
  ['record', '^src/records?[.]ts$'],
  ['stats', '^src/stats/'],
  ['fleet', '^src/fleet/'],
  ['store', '^src/history/'],
  ['grade', '^src/(grading|claims)/'],
  ['report', '^src/(report|monitor)/|^src/environment/(host|aead)[.]ts$'],
  ['cli', '^src/cli/|^src/index[.]ts$'],
];

const later = (i) => LAYERS.slice(i + 1).map(([, path]) => `(${path})`).join('|');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...LAYERS.slice(0, -1).map(([name, path], i) => ({
      name: `${name}-against-the-flow`,
      comment: `${name} comes before ${LAYERS.slice(i + 1).map(([n]) => n).join(', ')}: it may not import from them`,
      severity: 'error',
      from: { path },
      to: { path: later(i) },
    })),
    {
      name: 'in-a-layer',
      comment: 'every source module belongs to a layer (add it to LAYERS in .dependency-cruiser.cjs)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: LAYERS.map(([, path]) => `(${path})`).join('|') },
    },
    {
      name: 'no-cycles',
      comment: 'modules that import each other, directly or through others (types included)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // type-only imports are edges too: a type cycle is a cycle
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^index[.]js$' },
  },
};
