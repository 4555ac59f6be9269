/** Samples shaped like the server's answers (see ../types.ts), for the tests. */
import { IGpuSample, IMonitorResponse, ISample } from '../types';

export const GIB = 1024 ** 3;

export function gpu(index: number, over: Partial<IGpuSample> = {}): IGpuSample {
  return {
    index,
    name: 'NVIDIA H100 80GB HBM3',
    util_percent: 87,
    memory_used: 11.2 * GIB,
    memory_total: 16 * GIB,
    temperature_c: 54,
    power_w: 312.5,
    power_limit_w: 700,
    process_memory: null,
    ...over
  };
}

export function sample(time: number, over: Partial<ISample> = {}): ISample {
  return {
    time,
    cpu_percent: 12.4,
    ram_used: 3328599654,
    ram_total: 24 * GIB,
    process_rss: 104857600,
    gpus: [],
    gpu_error: 'NVML: Driver Not Loaded',
    ...over
  };
}

/** An answer whose history holds one sample per second from `from` to `to` (unix seconds). */
export function answer(
  from: number,
  to: number,
  over: Partial<ISample> = {}
): IMonitorResponse {
  const history: ISample[] = [];
  for (let t = from; t <= to; t++) {
    history.push(sample(t, over));
  }
  return { interval: 1, current: history[history.length - 1], history };
}
