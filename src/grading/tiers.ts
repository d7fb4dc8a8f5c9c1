// Network tiers named after common link speeds, assigned from the throughput's lower confidence bound, so a
// tier is a claim the data supports ("sustains 10GbE") rather than a point estimate.

export interface Tier {
  name: string;
  /** Nominal link speed, bit/s. */
  bps: number;
}

const TIERS: readonly Tier[] = [
  { name: '10 Mbit Ethernet', bps: 10e6 },
  { name: 'Fast Ethernet (100 Mbit)', bps: 100e6 },
  { name: 'Gigabit Ethernet', bps: 1e9 },
  { name: '2.5GbE', bps: 2.5e9 },
  { name: '5GbE', bps: 5e9 },
  { name: '10GbE', bps: 10e9 },
  { name: '25GbE', bps: 25e9 },
  { name: '40GbE', bps: 40e9 },
  { name: '50GbE', bps: 50e9 },
  { name: '100GbE', bps: 100e9 },
  { name: '200GbE', bps: 200e9 },
  { name: '400GbE', bps: 400e9 },
];

/**
 * The fastest link whose usable goodput the lower bound reaches. Usable goodput is `efficiency` x line rate
 * (default 0.9: Ethernet, IPv6, UDP and QUIC headers plus acknowledgements take the rest at 1500-byte MTU).
 */
export function classifyTier(lowerBoundBps: number, efficiency = 0.9): { tier: Tier | null; basis: string } {
  let best: Tier | null = null;
  for (const t of TIERS) if (lowerBoundBps >= efficiency * t.bps) best = t;
  return {
    tier: best,
    basis: `lower confidence bound of goodput >= ${efficiency} x line rate`,
  };
}
