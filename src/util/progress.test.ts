import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatBytes, formatDuration, progressText } from './progress.ts';

function sink(isTTY = false) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    }),
    { isTTY, columns: 160 },
  );
  return { stream, text: () => chunks.join('') };
}

describe('formatting', () => {
  it('bytes, durations, rate and ETA', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(170052171)).toBe('170.1 MB');
    expect(formatDuration(59.6)).toBe('1:00');
    expect(formatDuration(3725)).toBe('1:02:05');
    // 250 of 1000 images in 5 s: 50/s, 750 left -> 15 s.
    const t = progressText({ done: 250, total: 1000, unit: 'img', elapsedS: 5, fields: { loss: 0.123456, acc: 0.5 } });
    expect(t).toEqual({ counts: '250/1000 img', percent: '25.0%', rate: '50.0 img/s', eta: 'ETA 0:15', fields: 'loss=0.1235 acc=0.5000' });
  });
});

describe('plain (non-TTY) progress', () => {
  it('logs every 25% and on finish, with fields', () => {
    let now = 0;
    const s = sink();
    const p = createProgress({ label: 'epoch 1', total: 100, unit: 'img', stream: s.stream, logEveryPercent: 25, logEverySeconds: 1000, now: () => now });
    for (let i = 1; i <= 100; i++) {
      now += 100; // 10 img/s
      p.update(i, { loss: 1 / i });
    }
    p.finish({ loss: 0.01, acc: 0.9 });
    p.finish(); // second call is a no-op
    const lines = s.text().trim().split('\n');
    expect(lines).toEqual([
      'epoch 1: 25.0% 25/100 img 10.0 img/s ETA 0:08 loss=0.04000',
      'epoch 1: 50.0% 50/100 img 10.0 img/s ETA 0:05 loss=0.02000',
      'epoch 1: 75.0% 75/100 img 10.0 img/s ETA 0:03 loss=0.01333',
      'epoch 1: 100.0% 100/100 img 10.0 img/s in 0:10 loss=0.01000 acc=0.9000 (done)',
    ]);
  });

  it('logs by time when the percent step is not reached; unknown total shows counts only', () => {
    let now = 0;
    const s = sink();
    const p = createProgress({ label: 'dl', unit: 'B', stream: s.stream, logEverySeconds: 2, now: () => now });
    for (let i = 1; i <= 5; i++) {
      now += 1000;
      p.update(i * 1000);
    }
    p.fail('connection reset');
    const lines = s.text().trim().split('\n');
    expect(lines).toEqual(['dl: 2.0 kB 1.0 kB/s', 'dl: 4.0 kB 1.0 kB/s', 'dl: failed after 0:05: connection reset']);
  });
});

describe('TTY progress bar', () => {
  it('draws a bar with label, counts, percent and fields, and stops on finish', async () => {
    const s = sink(true);
    const p = createProgress({ label: 'train', total: 10, unit: 'batch', stream: s.stream });
    p.update(5, { loss: 0.5 });
    p.update(10);
    p.finish({ loss: 0.25 });
    const text = s.text();
    expect(text).toContain('train |');
    expect(text).toContain('10/10 batch');
    expect(text).toContain('100.0%');
    expect(text).toContain('loss=0.2500');
    expect(text).toMatch(/in 0:0\d/);
    expect(text).toContain('\n');
    const len = text.length;
    await new Promise((r) => setTimeout(r, 250));
    expect(s.text().length).toBe(len); // nothing redrawn after finish
  });
});
