export * from './retry';
export * from './devops';
export * from './clock';
export * from './azure';
