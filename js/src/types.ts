/**
 * The JSON the server extension returns from `GET {baseUrl}jupyter-dl/monitor`
 * (Python: `jupyter_dl.monitor.Sample.to_dict()`); the field names are the
 * Python ones, so they stay snake_case here.
 */

/** One NVIDIA GPU as NVML reports it. Memory is in bytes. */
export interface IGpuSample {
  index: number;
  name: string;
  util_percent: number | null;
  memory_used: number;
  memory_total: number;
  temperature_c: number | null;
  power_w: number | null;
  power_limit_w: number | null;
  process_memory: number | null;
}

/** The whole machine at one moment (time in unix seconds, memory in bytes). */
export interface ISample {
  time: number;
  cpu_percent: number;
  ram_used: number;
  ram_total: number;
  process_rss: number;
  gpus: IGpuSample[];
  /** Why there are no GPU numbers (one line), or null when the GPUs were read. */
  gpu_error: string | null;
}

/** The endpoint's answer: the latest sample and the history (oldest first, includes `current`). */
export interface IMonitorResponse {
  /** Seconds between the server's samples. */
  interval: number;
  current: ISample;
  history: ISample[];
}
