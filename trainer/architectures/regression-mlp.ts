// A dense regressor: ReLU layers (64, 64 unless told) and one linear output.
import type { Architecture } from './architecture.ts';

export const regressionMlp: Architecture<'regression-mlp'> = {
  name: 'regression-mlp',
  build(l, o) {
    l.flatten();
    for (const u of o.units ?? [64, 64]) l.model.add(l.dense(u, 'relu'));
    l.model.add(l.dense(1, 'linear'));
  },
};
