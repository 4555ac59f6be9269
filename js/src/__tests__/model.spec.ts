/**
 * @jest-environment jsdom
 */
// jsdom: the page's visibility (document.visibilityState) drives the poll's standby.
import { MonitorModel } from '../model';
import { MonitorStatusItem } from '../statusitem';
import { IMonitorResponse } from '../types';
import { answer, gpu } from './samples';

/** A fake endpoint: answers with one new sample per second of (fake) time, or fails while `down`. */
class FakeServer {
  calls: { at: number; history: number }[] = [];
  down = false;

  fetch = async (history: number): Promise<IMonitorResponse> => {
    const now = Date.now() / 1000;
    this.calls.push({ at: Date.now(), history });
    if (this.down) {
      throw new Error('404 Not Found');
    }
    return answer(Math.floor(now - history + 1), Math.floor(now), {
      cpu_percent: now % 100
    });
  };

  /** Milliseconds between consecutive requests. */
  gaps(): number[] {
    return this.calls.slice(1).map((c, i) => c.at - this.calls[i].at);
  }
}

function setVisibility(state: 'visible' | 'hidden'): void {
  Object.defineProperty(document, 'visibilityState', {
    configurable: true,
    get: () => state
  });
  document.dispatchEvent(new Event('visibilitychange'));
}

let server: FakeServer;
let model: MonitorModel;

beforeEach(() => {
  jest.useFakeTimers({ now: 1_700_000_000_000 });
  setVisibility('visible');
  server = new FakeServer();
  model = new MonitorModel({
    fetch: history => server.fetch(history),
    interval: 1000,
    maxInterval: 8000,
    windowSeconds: 300
  });
});

afterEach(() => {
  model.dispose();
  jest.restoreAllMocks();
  jest.useRealTimers();
});

describe('MonitorModel', () => {
  it('asks for the whole window first, then only for what is new', async () => {
    void model.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(model.status).toBe('ok');
    expect(model.history).toHaveLength(300);

    await jest.advanceTimersByTimeAsync(5000);
    expect(server.calls.map(c => c.history)).toEqual([300, 4, 4, 4, 4, 4]);
    expect(server.gaps()).toEqual([1000, 1000, 1000, 1000, 1000]);
    // overlapping answers, no duplicates: one sample per second
    const times = model.history.map(s => s.time);
    expect(new Set(times).size).toBe(times.length);
    expect(times[times.length - 1] - times[0]).toBe(300);
    expect(model.current?.time).toBe(times[times.length - 1]);
  });

  it('says it is unavailable, backs off up to the cap, and recovers', async () => {
    server.down = true;
    let changes = 0;
    model.changed.connect(() => changes++);
    void model.start();
    await jest.advanceTimersByTimeAsync(30_000);

    expect(model.status).toBe('unavailable');
    expect(model.error).toBe('404 Not Found');
    expect(changes).toBe(server.calls.length);
    // the wait doubles after each failure, up to maxInterval: 6 requests in 30 s, not 30
    expect(server.gaps()).toEqual([2000, 4000, 8000, 8000, 8000]);

    server.down = false;
    await jest.advanceTimersByTimeAsync(8000);
    expect(model.status).toBe('ok');
    expect(model.error).toBeNull();
    expect(server.calls).toHaveLength(7);
    const recovered = server.calls.length;
    await jest.advanceTimersByTimeAsync(3000);
    expect(server.calls.length - recovered).toBe(3); // back to one a second
  });

  it('stands by while the page is hidden and asks at once when it is shown', async () => {
    void model.start();
    await jest.advanceTimersByTimeAsync(2000);
    setVisibility('hidden');
    await jest.advanceTimersByTimeAsync(2000); // the poll lingers for one tick
    const whileHidden = server.calls.length;
    await jest.advanceTimersByTimeAsync(20_000);
    expect(server.calls.length).toBe(whileHidden);

    setVisibility('visible');
    await jest.advanceTimersByTimeAsync(0);
    expect(server.calls.length).toBe(whileHidden + 1);
    // the gap is filled: 20+ s asked for in one request
    expect(server.calls[server.calls.length - 1].history).toBeGreaterThan(20);
  });

  it('polls less often when the server samples less often', async () => {
    server.fetch = async (history: number) => {
      server.calls.push({ at: Date.now(), history });
      return { ...answer(1, 2), interval: 2.5 };
    };
    void model.start();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(model.sampleInterval).toBe(2.5);
    expect(server.gaps().slice(1)).toEqual([2500, 2500, 2500]);
  });
});

describe('MonitorStatusItem', () => {
  it('shows the numbers, mutes itself when the server is gone, and opens the panel on click', async () => {
    let clicks = 0;
    const item = new MonitorStatusItem(model, () => clicks++);
    expect(item.node.textContent).toBe('GPU monitor\u2026');

    void model.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(item.node.textContent).toMatch(/^CPU \d+% · RAM 3\.1\/24\.0 GB$/);
    expect(item.hasClass('jp-mod-muted')).toBe(false);
    expect(item.node.title).toContain(
      'No GPU numbers: NVML: Driver Not Loaded'
    );

    server.down = true;
    await jest.advanceTimersByTimeAsync(1000);
    expect(item.node.textContent).toBe('GPU monitor unavailable');
    expect(item.hasClass('jp-mod-muted')).toBe(true);
    expect(item.node.title).toContain('404 Not Found');

    item.node.click();
    expect(clicks).toBe(1);
    item.dispose();
  });

  it('shows the GPU when the server has one', async () => {
    server.fetch = async () =>
      answer(1, 3, { gpus: [gpu(0)], gpu_error: null });
    const item = new MonitorStatusItem(model, () => undefined);
    void model.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(item.node.textContent).toBe('GPU 87% · 11.2/16.0 GB');
    item.dispose();
  });
});
