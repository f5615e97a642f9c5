// Metric graphs, by the name tfjs-layers gives the metric in model.metricsNames. The batch value
// is the mean over the batch, as tfjs-layers computes it; the epoch's is their size-weighted mean.
import { attr, type GraphBuilder } from './builder.ts';

interface MetricGraph {
  /** Why the metric does not fit this loss, or undefined. */
  unsupported(loss: string): string | undefined;
  /** `p`: the model's output. */
  build(g: GraphBuilder, p: string, y: string, rank: number, loss: string): string;
}

const METRIC_GRAPHS: Record<string, MetricGraph> = {
  // tfjs-layers' 'accuracy' is categorical accuracy after a categorical cross-entropy and binary
  // accuracy (the prediction above 0.5) otherwise.
  acc: {
    unsupported: (loss) =>
      loss === 'categoricalCrossentropy' || loss === 'binaryCrossentropy'
        ? undefined
        : `accuracy with ${loss}`,
    build(g, p, y, rank, loss) {
      let hits: string;
      if (loss === 'categoricalCrossentropy') {
        const argMax = (t: string) =>
          g.f('ArgMax', [t, g.int(-1)], { Tidx: attr.int32, output_type: attr.int64 });
        hits = g.op('Equal', [argMax(p), argMax(y)], {
          T: attr.int64,
          incompatible_shape_error: attr.bool(true),
        });
        return g.meanAll(g.toFloat(hits, attr.boolType), 1);
      }
      const predicted = g.toFloat(g.f('Greater', [p, g.scalar(0.5)]), attr.boolType);
      hits = g.f('Equal', [y, predicted], { incompatible_shape_error: attr.bool(true) });
      return g.meanAll(g.toFloat(hits, attr.boolType), rank);
    },
  },
};

export function metricUnsupported(name: string, loss: string): string | undefined {
  const graph = METRIC_GRAPHS[name];
  return graph ? graph.unsupported(loss) : `metric ${name}`;
}

export function buildMetric(
  g: GraphBuilder,
  name: string,
  p: string,
  y: string,
  rank: number,
  loss: string,
): string {
  return METRIC_GRAPHS[name]!.build(g, p, y, rank, loss);
}
