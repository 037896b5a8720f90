export * from './connection';
export * from './client';
export * from './wait';
