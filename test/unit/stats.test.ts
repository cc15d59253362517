import { describe, expect, it } from 'vitest';
import { parseSize, usageOfLine } from '../../runbooks/stats.js';

describe('docker stats parsing', () => {
  it.each([
    ['0B', 0],
    ['1.5kB', 1500],
    ['816KiB', 816 * 1024],
    ['23.54GiB', 23.54 * 1024 ** 3],
    ['12.3MB', 12.3e6],
  ])('%s is %d bytes', (text, n) => {
    expect(parseSize(text)).toBeCloseTo(n, 0);
  });

  it('reads one JSON line of docker stats', () => {
    const u = usageOfLine({ BlockIO: '1.2MB / 0B', CPUPerc: '12.50%', Container: 'x', ID: 'x', MemPerc: '0.01%', MemUsage: '816KiB / 23.54GiB', Name: 'brainbytes_adonisjs_1', NetIO: '3kB / 4kB', PIDs: '4' });
    expect(u).toMatchObject({ name: 'brainbytes_adonisjs_1', cpuPercent: 12.5, memUsed: 816 * 1024, blockRead: 1.2e6, blockWrite: 0, netRx: 3000, netTx: 4000, pids: 4 });
  });
});
