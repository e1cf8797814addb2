// "Test connection" for each kind of profile. Each connector owns its tester; this table is the
// one place that maps a profile kind to it.
import type { ConnectionProfile, ConnectionTestResult } from '../../../shared/contracts/connections.js';
import type { SecretResolver } from '../secrets.js';
import { testKafkaConnection } from '../kafka/client.js';
import { testPostgresConnection } from '../cdc/postgres/client.js';
import { testSqlServerConnection } from '../cdc/sqlserver/discovery.js';

type Tester<K extends ConnectionProfile['kind']> = (profile: Extract<ConnectionProfile, { kind: K }>, resolveSecret: SecretResolver) => Promise<ConnectionTestResult>;

export const connectionTesters: { [K in ConnectionProfile['kind']]: Tester<K> } = {
  kafka: (profile, resolveSecret) => testKafkaConnection(profile, resolveSecret),
  postgres: (profile, resolveSecret) => testPostgresConnection(profile, resolveSecret),
  sqlserver: (profile, resolveSecret) => testSqlServerConnection(profile, resolveSecret),
};
