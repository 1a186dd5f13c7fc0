export { NvidiaCollector, NVIDIA_METRICS, type NvidiaCollectorOptions } from './nvidia-collector';
export { parseNvidiaSmiCsv, NVIDIA_SMI_ARGS, NVIDIA_SMI_FIELDS, type NvidiaGpuReading } from './nvidia-smi-csv';
