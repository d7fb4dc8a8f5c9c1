// The distribution functions every p-value and critical value in this package comes from: standard
// normal, Student t and binomial. Each is the more accurate of @stdlib and our own code against scipy on the
// grid of test/fixtures/stats/scipy-reference.json (down to 1e-300 in the normal tails, fractional and
// 1e5 df, a million binomial trials), checked in test/stats/scipy-reference.test.ts. Largest relative error
// on that grid, kept first ("ours": the Lanczos gamma and Lentz continued fractions these replaced):
//   normal sf/cdf   @stdlib gammainc, Q(1/2, z^2/2)   1.8e-13 (ours 2.1e-13; @stdlib's erfc-based
//                                                     normal cdf 2.1e-13)
//   normal quantile ours, polished on that CDF         2.2e-16 (@stdlib's erfcinv 7.0e-14; its normal
//                                                     quantile package returns -Infinity below p = 5e-17)
//   Student t sf    @stdlib t cdf                      1.6e-14 (ours 8.1e-11 at df 1e5)
//   Student t ppf   @stdlib t quantile                 1.1e-15 (ours 3.2e-5 at p 1e-12, df 0.7)
//   binomial cdf    @stdlib binomial cdf               1.5e-11 (ours 3.0e-9 at n 1e6)
// Near their extremes these figures are those of the arguments' own rounding (z^2/2 loses 1 ulp, which
// the far normal tail multiplies by z^2/2), not of the functions.
import gammainc from '@stdlib/math-base-special-gammainc';
import binomialCdfLib from '@stdlib/stats-base-dists-binomial-cdf';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** Standard normal upper tail P(Z > z), accurate to the far tail: Q(1/2, z^2/2) / 2. */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const q = 0.5 * gammainc((z * z) / 2, 0.5, true, true);
  return z >= 0 ? q : 1 - q;
}

/** Standard normal CDF P(Z <= z). */
export function normalCdf(z: number): number {
  return normalSf(-z);
}

/** Standard normal quantile (Acklam's rational start, polished by Halley steps on the CDF). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const plow = 0.02425;
  let x: number;
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - plow) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  for (let i = 0; i < 3; i++) {
    // Work on the smaller tail so the residual keeps its relative precision.
    const e = p < 0.5 ? normalCdf(x) - p : (1 - p) - normalSf(x);
    const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
    const step = u / (1 + (x * u) / 2);
    x -= step;
    if (Math.abs(step) < 1e-17 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

/** Student t upper tail P(T > t) with `df` degrees of freedom (df may be fractional, as in Welch's test). */
export function studentTSf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (!Number.isFinite(df)) return normalSf(t);
  // by symmetry, so the upper tail is never 1 - CDF
  return tCdf(-t, df);
}

/** Student t quantile: the t with P(T <= t) = p. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  if (!Number.isFinite(df)) return df > 0 ? normalQuantile(p) : NaN;
  return tQuantile(p, df);
}

/** Binomial CDF P(B <= k) for B ~ Bin(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  return binomialCdfLib(k, n, p);
}
