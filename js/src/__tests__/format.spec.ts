import {
  busiestGpu,
  formatGB,
  formatPercent,
  formatPower,
  statusText,
  statusTooltip
} from '../format';
import { GIB, gpu, sample } from './samples';

describe('statusText', () => {
  it('shows CPU and RAM without a GPU', () => {
    expect(statusText(sample(0))).toBe('CPU 12% \u00b7 RAM 3.1/24.0 GB');
  });

  it('shows utilisation and memory of a single GPU', () => {
    const s = sample(0, { gpus: [gpu(0)], gpu_error: null });
    expect(statusText(s)).toBe('GPU 87% \u00b7 11.2/16.0 GB');
  });

  it('shows the busiest of several GPUs and how many more there are', () => {
    const s = sample(0, {
      gpus: [
        gpu(0, { util_percent: 5 }),
        gpu(1, {
          util_percent: 93,
          memory_used: 40 * GIB,
          memory_total: 80 * GIB
        }),
        gpu(2, { util_percent: 0 })
      ],
      gpu_error: null
    });
    expect(statusText(s)).toBe('GPU1 93% \u00b7 40.0/80.0 GB (+2)');
  });

  it('leaves out the utilisation NVML could not read', () => {
    const s = sample(0, { gpus: [gpu(0, { util_percent: null })] });
    expect(statusText(s)).toBe('GPU \u00b7 11.2/16.0 GB');
  });
});

describe('busiestGpu', () => {
  it('breaks a tie in utilisation by the fuller memory', () => {
    const idleFull = gpu(0, { util_percent: 0, memory_used: 15 * GIB });
    const idleEmpty = gpu(1, { util_percent: 0, memory_used: 1 * GIB });
    expect(busiestGpu([idleEmpty, idleFull])?.index).toBe(0);
  });

  it('ranks an unknown utilisation below 0%', () => {
    const unknown = gpu(0, { util_percent: null, memory_used: 15 * GIB });
    const idle = gpu(1, { util_percent: 0, memory_used: 1 * GIB });
    expect(busiestGpu([unknown, idle])?.index).toBe(1);
  });

  it('is undefined without GPUs', () => {
    expect(busiestGpu([])).toBeUndefined();
  });
});

describe('numbers', () => {
  it('writes bytes as binary gigabytes with one decimal', () => {
    expect(formatGB(16 * GIB)).toBe('16.0');
    expect(formatGB(85520809984)).toBe('79.6');
    expect(formatGB(0)).toBe('0.0');
  });

  it('rounds percentages and says n/a when unknown', () => {
    expect(formatPercent(86.6)).toBe('87%');
    expect(formatPercent(null)).toBe('n/a');
    expect(formatPercent(NaN)).toBe('n/a');
  });

  it('writes power with or without its limit', () => {
    expect(formatPower(312.5, 700)).toBe('313/700 W');
    expect(formatPower(312.5, null)).toBe('313 W');
    expect(formatPower(null, 700)).toBe('');
  });
});

describe('statusTooltip', () => {
  it('says why there are no GPU numbers', () => {
    const text = statusTooltip(sample(0));
    expect(text).toContain('No GPU numbers: NVML: Driver Not Loaded');
    expect(text).toContain('CPU 12%');
  });

  it('lists every GPU with its name, temperature and power', () => {
    const text = statusTooltip(
      sample(0, {
        gpus: [gpu(0), gpu(1, { util_percent: 3 })],
        gpu_error: null
      })
    );
    expect(text.split('\n').slice(0, 2)).toEqual([
      'GPU 0 NVIDIA H100 80GB HBM3: 87% \u00b7 11.2/16.0 GB \u00b7 54 \u00b0C \u00b7 313/700 W',
      'GPU 1 NVIDIA H100 80GB HBM3: 3% \u00b7 11.2/16.0 GB \u00b7 54 \u00b0C \u00b7 313/700 W'
    ]);
    expect(text).not.toContain('No GPU numbers');
  });
});
