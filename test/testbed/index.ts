// The integration testbed: real servers started per test file, stopped (and their temp dirs
// removed) by their stop().
export * from './vault.js';
export * from './s3.js';
export * from './postgres.js';
export * from './azurite.js';
export * from './gcs.js';
export * from './ldap.js';
export * from './pushgateway.js';
export * from './promtool.js';
