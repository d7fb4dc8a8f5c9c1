// Jain's fairness index against values worked by hand and its defining bounds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jainIndex } from '../../src/fleet/fairness.js';

describe("Jain's index", () => {
  it('equal shares: 1; one client with everything: 1/n', () => {
    expect(jainIndex([5, 5, 5, 5])).toEqual({ index: 1, n: 4, worst: 0.25 });
    expect(jainIndex([0, 0, 9])!.index).toBeCloseTo(1 / 3, 15);
  });

  it('matches the formula worked by hand', () => {
    // (1 + 2 + 3)^2 / (3 * (1 + 4 + 9)) = 36 / 42
    expect(jainIndex([1, 2, 3])!.index).toBeCloseTo(36 / 42, 15);
    // five flows at 200, 160, 110, 95 and 150 KB/s: 715^2 / (5 * 109225) = 0.93610
    expect(jainIndex([200, 160, 110, 95, 150])!.index).toBeCloseTo(511_225 / 546_125, 15);
  });

  it('lies in [1/n, 1] and ignores the unit (shares too small to scale count as 0)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e12, noNaN: true }).map((x) => (x < 1e-200 ? 0 : x)), { minLength: 1, maxLength: 50 }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (xs, scale) => {
        const j = jainIndex(xs);
        if (xs.every((x) => x === 0)) return j === null;
        const scaled = jainIndex(xs.map((x) => x * scale))!;
        return j!.index >= 1 / xs.length - 1e-12 && j!.index <= 1 + 1e-12 && Math.abs(scaled.index - j!.index) < 1e-9;
      }),
    );
  });

  it('undefined without shares; refuses negative ones', () => {
    expect(jainIndex([])).toBeNull();
    expect(jainIndex([0, 0])).toBeNull();
    expect(() => jainIndex([1, -1])).toThrow(RangeError);
    expect(() => jainIndex([1, NaN])).toThrow(RangeError);
  });
});
