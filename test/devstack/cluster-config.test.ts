import { loadClusterConfig, portsFromFrontend, renderDynamicConfig, renderServerConfig, sqlEndpointFromUrl, SQL_PASSWORD_ENV } from '../../src/devstack/cluster/cluster-config.js';
import { loadDevServerConfig } from '../../src/temporal/dev-server-config.js';
import { ConfigError } from '../../src/shared/errors.js';

const cluster = loadClusterConfig();

interface SqlStore {
  sql: { pluginName: string; databaseName: string; connectAddr: string; user: string; password?: string; tls?: unknown };
}

/** The parts of the rendered server config these tests read. */
interface RenderedConfig {
  persistence: { numHistoryShards: number; datastores: { default: SqlStore; visibility: SqlStore } };
  services: Record<'frontend' | 'history' | 'matching' | 'worker', { rpc: Record<string, number | boolean> }>;
  publicClient: { hostPort: string };
  dynamicConfigClient: { filepath: string };
}

function render(url: string): { header: string; config: RenderedConfig } {
  const text = renderServerConfig({
    cluster,
    sql: sqlEndpointFromUrl(url),
    databases: { default: 'd', visibility: 'v' },
    ports: portsFromFrontend(7233),
    dynamicConfigFile: '/tmp/dc.yaml',
  });
  const header = text.startsWith('#') ? text.slice(0, text.indexOf('\n') + 1) : '';
  return { header, config: JSON.parse(text.slice(header.length)) as RenderedConfig };
}

test('the server config puts both stores on the PostgreSQL server of the URL and every service on 127.0.0.1', () => {
  const { header, config } = render('postgresql://temporal@db.internal:6543/postgres');
  expect(header).toBe('');
  const sql = config.persistence.datastores.default.sql;
  expect(sql).toMatchObject({ pluginName: 'postgres12', databaseName: 'd', connectAddr: 'db.internal:6543', user: 'temporal' });
  expect(sql.password).toBeUndefined();
  expect(config.persistence.datastores.visibility.sql.databaseName).toBe('v');
  expect(config.persistence.numHistoryShards).toBe(cluster.numHistoryShards);
  expect(config.services.frontend.rpc).toEqual({ grpcPort: 7233, membershipPort: 6933, bindOnLocalHost: true, httpPort: 7243 });
  expect(config.services.history.rpc.grpcPort).toBe(7234);
  expect(config.publicClient.hostPort).toBe('127.0.0.1:7233');
  expect(config.dynamicConfigClient.filepath).toBe('/tmp/dc.yaml');
});

test('a password never enters the file: the server renders it from its environment', () => {
  const { header, config } = render('postgresql://temporal:s3cr%40t@127.0.0.1/postgres?sslmode=verify-full');
  expect(header).toBe('# enable-template\n');
  expect(JSON.stringify(config)).not.toContain('s3cr');
  expect(config.persistence.datastores.default.sql.password).toBe(`{{ env \`${SQL_PASSWORD_ENV}\` }}`);
  expect(config.persistence.datastores.default.sql.tls).toEqual({ enabled: true, enableHostVerification: true });
  expect(sqlEndpointFromUrl('postgresql://temporal:s3cr%40t@127.0.0.1/postgres').password).toBe('s3cr@t');
});

test('bad URLs are configuration errors', () => {
  expect(() => sqlEndpointFromUrl('mysql://x@y/z')).toThrow(ConfigError);
  expect(() => sqlEndpointFromUrl('postgresql://x@y/z?sslmode=sometimes')).toThrow(ConfigError);
});

test('the dynamic config carries the dev server values, one task-queue partition included', () => {
  const file = JSON.parse(renderDynamicConfig(loadDevServerConfig().dynamicConfig));
  expect(file['matching.numTaskqueueReadPartitions']).toEqual([{ value: 1, constraints: {} }]);
  expect(file['matching.numTaskqueueWritePartitions']).toEqual([{ value: 1, constraints: {} }]);
  // One shard in the dev server: its history queues read 1000 times a second, not 20 (docs/deploy.md).
  for (const queue of ['transfer', 'timer', 'visibility']) expect(file[`history.${queue}ProcessorMaxPollRPS`]).toEqual([{ value: 1000, constraints: {} }]);
  expect(Object.keys(file).sort()).toEqual(Object.keys(loadDevServerConfig().dynamicConfig).sort());
});
