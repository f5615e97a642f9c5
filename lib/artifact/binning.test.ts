import { describe, expect, it } from 'vitest';
import {
  binCounts,
  binIndex,
  decodeEdges,
  encodeEdges,
  float32Decimal,
  quantileEdges,
  sortedValues,
} from './binning.ts';

const INF = Number.POSITIVE_INFINITY;

describe('quantileEdges', () => {
  it.each([
    [
      'uniform values get K equal bins',
      Float64Array.from({ length: 100 }, (_, i) => i),
      4,
      [-INF, 25, 50, 75, INF],
    ],
    [
      'repeated values collapse duplicate edges',
      Float64Array.from([0, 0, 0, 0, 0, 0, 0, 1, 2, 3]),
      5,
      [-INF, 2, INF],
    ],
    ['a constant feature gets one bin', Float64Array.from([7, 7, 7]), 10, [-INF, INF]],
    ['no values give one bin', new Float64Array(0), 10, [-INF, INF]],
    [
      'infinite values never become inner edges (profile.json can only write them at the ends)',
      Float64Array.from([1, 2, 3, INF, INF, INF]),
      3,
      [-INF, 3, INF],
    ],
    [
      'NaN is left out of the ranks',
      sortedValues([Number.NaN, 3, Number.NaN, 0, 2, 1, Number.NaN, Number.NaN]),
      4,
      [-INF, 1, 2, 3, INF],
    ],
  ])('%s', (_name, sorted, bins, edges) => {
    expect(quantileEdges(sorted, bins)).toEqual(edges);
  });
});

describe('binIndex', () => {
  const edges = decodeEdges([null, 0, 1, null]);
  it.each([
    ['a value below the first inner edge goes to the first bin', -5, 0],
    ['a value exactly on an edge goes to the bin above it', 0, 1],
    ['a value between edges goes to the bin they bound', 0.5, 1],
    ['a value exactly on the last inner edge goes to the last bin', 1, 2],
    ['a value far above the last edge goes to the last bin', 1e9, 2],
    ['-Infinity goes to the first bin', Number.NEGATIVE_INFINITY, 0],
    ['Infinity goes to the last bin', INF, 2],
    ['NaN goes to no bin', Number.NaN, -1],
  ])('%s', (_name, v, bin) => {
    expect(binIndex(v, edges)).toBe(bin);
  });

  it.each([
    ['a served float32 value lies on the float64 edge it came from', Math.fround(0.7), [-INF, 0.7, INF], 1],
    ['a trained float64 value lies on the float32 edge it rounds to', 0.7, [-INF, Math.fround(0.7), INF], 1],
    ['values apart at float32 stay apart', Math.fround(0.7) - 1e-7, [-INF, 0.7, INF], 0],
  ])('%s', (_name, v, e, bin) => {
    expect(binIndex(v, e)).toBe(bin);
  });
});

describe('binCounts', () => {
  it.each([
    ['finite outer edges still bound open outer bins', [-1, 0, 1, 2], [-100, 100], [1, 0, 1]],
    ['a single bin takes every value but NaN', [-INF, INF], [-1, 0, Number.NaN, 1e300], [3]],
    ['an empty bin between equal edges stays empty', [-INF, 1, 1, INF], [0, 1, 2], [1, 0, 2]],
  ])('%s', (_name, edges, values, counts) => {
    expect(binCounts(values, edges)).toEqual(counts);
  });

  it('counts [edge, next edge) with open outer bins', () => {
    expect(binCounts([-100, 0, 0.5, 1, 2, 100], decodeEdges([null, 0, 1, null]))).toEqual([1, 2, 3]);
    expect(binCounts([-1, 0, 0.2, 3, 4], decodeEdges([null, 0, 1, null]))).toEqual([1, 2, 2]);
  });

  it('leaves NaN out, so the counts sum to the number of values that have a place', () => {
    expect(binCounts([Number.NaN, -1, Number.NaN, 0, 5], decodeEdges([null, 0, 1, null]))).toEqual([1, 1, 1]);
  });
});

describe('profile.json values', () => {
  it.each([
    ['a float32 rounding is written as the decimal it came from', Math.fround(0.7), 0.7],
    ['a float64 value is written at float32 precision', 0.123456789012, 0.12345679],
    ['an integer stays exact', 1234567, 1234567],
    ['a value beyond float32 becomes infinite', 1e300, INF],
  ])('%s', (_name, v, written) => {
    expect(float32Decimal(v)).toBe(written);
    expect(Math.fround(float32Decimal(v))).toBe(Math.fround(v));
  });

  it('writes the infinite ends of edges as null and reads them back as infinities', () => {
    const edges = [Number.NEGATIVE_INFINITY, -1.5, 0, 2, INF];
    expect(encodeEdges(edges)).toEqual([null, -1.5, 0, 2, null]);
    expect(decodeEdges(encodeEdges(edges))).toEqual(edges);
    expect(encodeEdges([Number.NEGATIVE_INFINITY, Math.fround(0.1), INF])).toEqual([null, 0.1, null]);
  });

  it('sorts the values that take part at float32 precision and drops NaN', () => {
    expect(Array.from(sortedValues([3, Number.NaN, -INF, 0.1, INF]))).toEqual([
      -INF,
      Math.fround(0.1),
      3,
      INF,
    ]);
  });
});
