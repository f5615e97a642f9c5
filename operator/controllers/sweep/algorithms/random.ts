// Independent uniform draws (log-uniform on a log scale). Trial i's draw depends only on the seed
// and i, never on the history, so parallel and restarted suggestions are reproducible.
import { prng, Stream } from './rng.ts';
import { sampleAssignment } from './space.ts';
import type { Algorithm, Assignment, SearchSpace } from './types.ts';

export const randomAssignment = (space: SearchSpace, seed: number, index: number): Assignment =>
  sampleAssignment(space, prng(seed, index, Stream.Random));

export const randomSearch: Algorithm = {
  name: 'random',
  suggest: ({ space, seed, index }) => ({ kind: 'trial', parameters: randomAssignment(space, seed, index) }),
};
