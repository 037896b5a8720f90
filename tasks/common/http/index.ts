export * from './retry';
export * from './devops';
