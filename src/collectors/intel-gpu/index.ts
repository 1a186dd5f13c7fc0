export { IntelGpuCollector, type IntelGpuCollectorOptions } from './intel-gpu-collector';
export { INTEL_GPU_METRICS } from './metrics';
export { parseDrmFdinfo, parseDrmSize, type DrmFdinfo } from './fdinfo';
