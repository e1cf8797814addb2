// `eddy capture sqlserver` option parsing: flags become a validated mssqlStartCapture request.
import { describe, expect, it } from 'vitest';
import { sqlServerCaptureRequest, withPasswordReference } from '../../../main/cli/commands/capture-sqlserver.js';
import { captureSources } from '../../../main/cli/commands/capture.js';

describe('eddy capture sqlserver', () => {
  it('is registered as a capture source', () => {
    expect(captureSources.sqlserver?.usage).toMatch(/--tables/);
  });

  it('turns flags into a validated request with defaults', () => {
    const request = sqlServerCaptureRequest(
      ['--url', 'mssql://sa@db:1433/shop', '--tables', 'dbo.Orders, dbo.Customers', '--snapshot', '--isolation', 'tablock', '--until-caught-up', '--max', '100', '--max-transactions', '50', '--name', 'shop-main'],
      {},
    );
    expect(request).toMatchObject({
      url: 'mssql://sa@db:1433/shop',
      tables: ['dbo.Orders', 'dbo.Customers'],
      snapshot: true,
      isolation: 'tablock',
      untilCaughtUp: true,
      maxEvents: 100,
      maxTransactionsPerPoll: 50,
      name: 'shop-main',
      startAt: 'now',
      resetPosition: false,
      pollIntervalMs: 500,
    });
    expect(sqlServerCaptureRequest(['--connection', 'shop', '--tables', 'dbo.Orders', '--resnapshot'], {})).toMatchObject({ connectionId: 'shop', snapshot: true, resetPosition: true });
  });

  it('refuses bad usage with the reason', () => {
    expect(() => sqlServerCaptureRequest(['--url', 'mssql://sa@db/shop'], {})).toThrow(/tables/);
    expect(() => sqlServerCaptureRequest(['--tables', 'dbo.Orders'], {})).toThrow(/connectionId or url/);
    expect(() => sqlServerCaptureRequest(['--url', 'mssql://sa@db/shop', '--tables', 'dbo.Orders', '--isolation', 'dirty'], {})).toThrow(/isolation/);
    expect(() => sqlServerCaptureRequest(['--url', 'mssql://sa@db/shop', '--tables', 'dbo.Orders', '--max', 'lots'], {})).toThrow(/whole number/);
  });

  it('uses MSSQL_PASSWORD as a reference, never as a value', () => {
    const url = withPasswordReference('mssql://sa@db:1433/shop', { MSSQL_PASSWORD: 'hunter2' });
    expect(url).not.toContain('hunter2');
    expect(decodeURIComponent(new URL(url).password)).toBe('${env:MSSQL_PASSWORD}');
    expect(withPasswordReference('mssql://sa:given@db/shop', { MSSQL_PASSWORD: 'x' })).toBe('mssql://sa:given@db/shop');
  });
});
