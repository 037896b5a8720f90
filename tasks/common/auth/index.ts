export * from './types';
export * from './clouds';
export * from './connection';
export * from './oidc';
export * from './proxy';
export * from './federated';
