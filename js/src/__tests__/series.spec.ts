import { cardSpecs, CHART_HEIGHT, CHART_WIDTH } from '../cards';
import {
  areaPath,
  chartSpan,
  gpuUtilSeries,
  historyToRequest,
  linePath,
  mergeHistory
} from '../series';
import { GIB, gpu, sample } from './samples';

const times = (samples: { time: number }[]) => samples.map(s => s.time);

describe('mergeHistory', () => {
  it('appends only samples newer than the last one held', () => {
    const held = [sample(10), sample(11), sample(12)];
    const merged = mergeHistory(
      held,
      [sample(11), sample(12), sample(13)],
      300
    );
    expect(times(merged)).toEqual([10, 11, 12, 13]);
  });

  it('drops samples older than the window before the newest', () => {
    const held = [sample(100), sample(200), sample(250)];
    const merged = mergeHistory(held, [sample(401)], 300);
    expect(times(merged)).toEqual([200, 250, 401]);
  });

  it('starts from the first answer', () => {
    expect(times(mergeHistory([], [sample(1), sample(2)], 300))).toEqual([
      1, 2
    ]);
    expect(mergeHistory([], [], 300)).toEqual([]);
  });
});

describe('historyToRequest', () => {
  it('asks for the whole window first', () => {
    expect(historyToRequest(null, 5000, 300)).toBe(300);
  });

  it('then asks for the time since the last answer with some slack', () => {
    expect(historyToRequest(10_000, 11_000, 300)).toBe(4);
    expect(historyToRequest(10_000, 70_500, 300)).toBe(64);
  });

  it('never asks for more than the window or than the server keeps', () => {
    expect(historyToRequest(0, 3_600_000, 300)).toBe(300);
    expect(historyToRequest(null, 0, 3600)).toBe(600);
  });
});

describe('chartSpan', () => {
  it('spans at least a minute while little history is held', () => {
    expect(chartSpan([sample(100), sample(110)], 300)).toBe(60);
    expect(chartSpan([], 300)).toBe(60);
  });

  it('grows with the history up to the window', () => {
    expect(chartSpan([sample(100), sample(220)], 300)).toBe(120);
    expect(chartSpan([sample(0), sample(900)], 300)).toBe(300);
  });
});

describe('linePath', () => {
  const box = { width: 100, height: 10, tMin: 0, tMax: 10, vMin: 0, vMax: 100 };

  it('scales time to x and value to y, higher values drawn higher', () => {
    const path = linePath(
      [
        { t: 0, v: 0 },
        { t: 5, v: 50 },
        { t: 10, v: 100 }
      ],
      box
    );
    expect(path).toBe('M0,10 L50,5 L100,0');
  });

  it('breaks the line at unknown values and at long gaps', () => {
    const path = linePath(
      [
        { t: 0, v: 10 },
        { t: 1, v: null },
        { t: 2, v: 10 },
        { t: 3, v: 10 },
        { t: 9, v: 10 }
      ],
      box,
      2
    );
    expect(path).toBe('M0,9 M20,9 L30,9 M90,9');
  });

  it('fills the area under each run down to the bottom', () => {
    const path = areaPath(
      [
        { t: 0, v: 50 },
        { t: 5, v: 100 },
        { t: 6, v: null },
        { t: 10, v: 50 }
      ],
      box
    );
    expect(path).toBe('M0,10 L0,5 L50,0 L50,10 Z M100,10 L100,5 L100,10 Z');
  });

  it('clamps values outside the range to the edges', () => {
    expect(
      linePath(
        [
          { t: 0, v: 150 },
          { t: 10, v: -5 }
        ],
        box
      )
    ).toBe('M0,0 L100,10');
  });
});

describe('chart series from the history', () => {
  it('follows each GPU by its index, null where it was missing', () => {
    const history = [
      sample(1, {
        gpus: [gpu(0, { util_percent: 10 }), gpu(1, { util_percent: 90 })]
      }),
      sample(2, { gpus: [gpu(0, { util_percent: 20 })] })
    ];
    expect(gpuUtilSeries(history, 1)).toEqual([
      { t: 1, v: 90 },
      { t: 2, v: null }
    ]);
  });

  it('makes a card per GPU plus one for CPU and RAM, charts over the history held', () => {
    const history = [0, 150, 300].map(t =>
      sample(1000 + t, {
        cpu_percent: t / 3,
        gpus: [gpu(0, { util_percent: 100, memory_used: 8 * GIB })],
        gpu_error: null
      })
    );
    const current = history[history.length - 1];
    const cards = cardSpecs(current, history, 300, 150);
    expect(cards.map(c => c.key)).toEqual(['gpu-0', 'system']);

    const [gpuCard, system] = cards;
    expect(gpuCard.title).toBe('GPU 0 \u00b7 NVIDIA H100 80GB HBM3');
    expect(gpuCard.detail).toBe('54 \u00b0C \u00b7 313/700 W');
    expect(gpuCard.charts.map(c => [c.label, c.value])).toEqual([
      ['Utilisation', '100%'],
      ['Memory', '8.0/16.0 GB']
    ]);
    // util 100% is the top edge across the whole width; 8 of 16 GB is half way up
    expect(gpuCard.charts[0].line).toBe(
      `M0,0 L${CHART_WIDTH / 2},0 L${CHART_WIDTH},0`
    );
    expect(gpuCard.charts[1].line).toBe(
      `M0,${CHART_HEIGHT / 2} L${CHART_WIDTH / 2},${CHART_HEIGHT / 2} L${CHART_WIDTH},${CHART_HEIGHT / 2}`
    );
    // CPU rises 0 -> 50 -> 100 %
    expect(system.charts[0]).toMatchObject({
      label: 'CPU',
      value: '100%',
      line: `M0,${CHART_HEIGHT} L${CHART_WIDTH / 2},${CHART_HEIGHT / 2} L${CHART_WIDTH},0`
    });
    expect(system.charts[1].value).toBe('3.1/24.0 GB');
  });
});
