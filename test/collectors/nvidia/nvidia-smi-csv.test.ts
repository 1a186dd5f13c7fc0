import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NVIDIA_SMI_ARGS, parseNvidiaSmiCsv, parseSmiNumber } from '../../../src/collectors/nvidia/nvidia-smi-csv';
import { HOSTS } from '../intel-gpu/fixture-host';

const recorded = (snap: string) => readFileSync(path.join(HOSTS, 'nvidia', `nvidia-smi.${snap}.csv`), 'utf8');

describe('nvidia: nvidia-smi CSV parsing', () => {
  it('asks for exactly the fields it parses, without header or units', () => {
    assert.deepEqual(NVIDIA_SMI_ARGS, [
      '--query-gpu=index,uuid,name,utilization.gpu,utilization.memory,memory.used,memory.total,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem',
      '--format=csv,noheader,nounits',
    ]);
  });

  it('parses the recorded output of two GPUs, one without power readings', () => {
    const { gpus, skipped } = parseNvidiaSmiCsv(recorded('t0'));
    assert.deepEqual(skipped, []);
    assert.equal(gpus.length, 2);
    assert.deepEqual(gpus[0], {
      index: 0,
      uuid: 'GPU-5a2b0f63-1c9e-4d0a-9f3e-2b7c41d8e901',
      name: 'NVIDIA A100-SXM4-40GB',
      utilizationGpuPercent: 87,
      utilizationMemoryPercent: 42,
      memoryUsedMiB: 31245,
      memoryTotalMiB: 40960,
      temperatureC: 64,
      powerDrawW: 312.45,
      powerLimitW: 400,
      clockSmMHz: 1410,
      clockMemMHz: 1215,
    });
    assert.equal(gpus[1].name, 'NVIDIA GeForce RTX 3060');
    assert.equal(gpus[1].powerDrawW, undefined);
    assert.equal(gpus[1].powerLimitW, undefined);
    assert.equal(gpus[1].memoryUsedMiB, 5);
  });

  it('reads every bracketed marker and other non-numbers as missing', () => {
    for (const f of ['[N/A]', '[Not Supported]', '[Unknown Error]', '[GPU requires reset]', '[Insufficient Permissions]', 'N/A', '', 'abc', '1.2.3', '0x10']) {
      assert.equal(parseSmiNumber(f), undefined, f);
    }
    assert.equal(parseSmiNumber(' 312.45 '), 312.45);
    assert.equal(parseSmiNumber('0'), 0);
    assert.equal(parseSmiNumber('-5'), -5);
  });

  it('rejects a long digit run with a bad end in linear time (the old pattern took minutes at this size)', () => {
    assert.equal(parseSmiNumber('1'.repeat(300_000) + 'x'), undefined);
    assert.equal(parseSmiNumber('1'.repeat(300_000)), undefined); // Infinity is not a reading
    assert.equal(parseSmiNumber('1.5e3'), 1500);
  });

  it('tolerates CRLF, extra spaces, blank lines and garbage lines', () => {
    const text = [
      'WARNING: infoROM is corrupted at gpu 0000:3B:00.0',
      '',
      '  0 ,GPU-aaaa ,  Tesla T4 , [Not Supported] , 3 , 100 , 15360 , 41 , 27.10 , 70.00 , 300 , 5000  \r',
      'index, uuid, name, utilization.gpu [%], utilization.memory [%], memory.used [MiB], memory.total [MiB], temperature.gpu, power.draw [W], power.limit [W], clocks.sm [MHz], clocks.mem [MHz]',
      '1, GPU-bbbb, Tesla T4, 5, 3, 100, 15360, 41, 27.10, 70.00, 300',
      'x, GPU-cccc, Tesla T4, 5, 3, 100, 15360, 41, 27.10, 70.00, 300, 5000',
      '2, [N/A], Tesla T4, 5, 3, 100, 15360, 41, 27.10, 70.00, 300, 5000',
      '\r',
    ].join('\n');
    const { gpus, skipped } = parseNvidiaSmiCsv(text);
    assert.equal(gpus.length, 1);
    assert.equal(gpus[0].uuid, 'GPU-aaaa');
    assert.equal(gpus[0].name, 'Tesla T4');
    assert.equal(gpus[0].utilizationGpuPercent, undefined);
    assert.equal(gpus[0].clockMemMHz, 5000);
    assert.deepEqual(
      skipped.map((s) => s.line),
      [1, 4, 5, 6, 7],
    );
  });

  it('keeps a product name that contains a comma', () => {
    const { gpus } = parseNvidiaSmiCsv('3, GPU-dddd, Some GPU, Rev 2, 10, 20, 1024, 8192, 50, 100.5, 150, 1500, 7000\n');
    assert.equal(gpus.length, 1);
    assert.equal(gpus[0].name, 'Some GPU, Rev 2');
    assert.equal(gpus[0].utilizationGpuPercent, 10);
    assert.equal(gpus[0].clockMemMHz, 7000);
  });

  it('gives nothing for empty output', () => {
    assert.deepEqual(parseNvidiaSmiCsv(''), { gpus: [], skipped: [] });
    assert.deepEqual(parseNvidiaSmiCsv('No devices were found\n').gpus, []);
  });
});
