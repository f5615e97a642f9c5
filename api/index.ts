export * from './common.ts';
export * from './modeldeployment.ts';
export * from './storage.ts';
export * from './sweep.ts';
export * from './termination.ts';
export * from './trainer.ts';
export * from './training.ts';
export * from './trainingjob.ts';
