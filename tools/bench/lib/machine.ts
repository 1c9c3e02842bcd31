import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export interface Machine {
  date: string;
  node: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  /** 1-minute load average when the run started: other work on the machine skews every timing. */
  loadAverage: number;
}

export function describeMachine(): Machine {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    loadAverage: loadavg()[0] ?? 0,
  };
}

export function machineLine(machine: Machine): string {
  return [
    `${machine.date.slice(0, 19).replace('T', ' ')} UTC`,
    `Node ${machine.node}`,
    `${machine.cpuModel}, ${machine.cores} cores`,
    `${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB RAM`,
    `load average ${machine.loadAverage.toFixed(2)} at start`,
  ].join(' · ');
}
