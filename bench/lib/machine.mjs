// What a bench ran on, for its JSON: the machine and the versions beside each figure.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';

const require = createRequire(import.meta.url);

/** A command's trimmed stdout, or null when it fails or is missing. */
export function commandOutput(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The `version` of a package.json, or null. */
export function versionOf(pkgJson) {
  try {
    return JSON.parse(readFileSync(pkgJson, 'utf8')).version;
  } catch {
    return null;
  }
}

/** CPUs, memory, OS, Node, Kafka, kafkajs, Redis and the commit; `extra` goes before the commit. */
export function machineInfo(root, kafkaVersion, extra = {}) {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    kafka: kafkaVersion,
    kafkajs: versionOf(require.resolve('kafkajs/package.json')),
    redis: commandOutput('redis-server', ['--version'])?.match(/v=(\S+)/)?.[1] ?? null,
    ...extra,
    gitCommit: commandOutput('git', ['-C', root, 'rev-parse', 'HEAD']),
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); null elsewhere or once it is gone. */
export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), counted from field 3: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * The whole machine's CPU time so far (all cores, seconds), from /proc/stat: `busy` is user, nice,
 * system, irq and softirq (guest time is already inside user); `stolen` is steal, the time this
 * virtual machine was ready to run and its host ran someone else, which is neither our work nor idle.
 */
export function machineCpuSeconds() {
  try {
    const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
    const [user, nice, system, , , irq, softirq, steal] = cpu.trim().split(/\s+/).slice(1).map(Number);
    return { busy: (user + nice + system + (irq ?? 0) + (softirq ?? 0)) / CLOCK_TICKS_PER_SECOND, stolen: (steal ?? 0) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

// USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK), read once.
const CLOCK_TICKS_PER_SECOND = Number(commandOutput('getconf', ['CLK_TCK']) ?? 100) || 100;

/**
 * CPU used from now on by the machine and by named processes (`{ name: pid }`): the function it
 * returns gives the cores kept busy on average (machine-wide and per process) since this call.
 */
export function cpuWindow(processes) {
  const t0 = performance.now();
  const machine0 = machineCpuSeconds();
  const before = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  return () => {
    const wallSeconds = (performance.now() - t0) / 1000;
    const machine1 = machineCpuSeconds();
    const coresBusy = (used) => (used === null || !(wallSeconds > 0) ? null : Math.round((used / wallSeconds) * 100) / 100);
    const perProcess = Object.fromEntries(
      Object.entries(processes).map(([name, pid]) => {
        const after = processCpuSeconds(pid);
        return [name, coresBusy(after === null || before[name] === null ? null : after - before[name])];
      }),
    );
    return {
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      cores: os.cpus().length,
      machineCoresBusy: coresBusy(machine0 === null || machine1 === null ? null : machine1.busy - machine0.busy),
      // A host that runs other guests on our cores makes every process here slower per command:
      // runs are comparable only when this is about equal.
      machineCoresStolen: coresBusy(machine0 === null || machine1 === null ? null : machine1.stolen - machine0.stolen),
      coresBusyByProcess: perProcess,
    };
  };
}

/**
 * The cores kept busy (machine-wide and per process, as `cpuWindow`) between two
 * `performance.now()` instants still to come: a point's measured window, without its warm-up.
 * Resolves once `toMs` has passed.
 */
export function cpuBetween(processes, fromMs, toMs) {
  return new Promise((resolve) => {
    setTimeout(() => {
      const end = cpuWindow(processes);
      setTimeout(() => resolve(end()), Math.max(0, toMs - performance.now()));
    }, Math.max(0, fromMs - performance.now()));
  });
}

const SPEED_PROBE_WORDS = 1 << 16; // 256 KB: a working set in a core's own caches
const speedProbeData = new Int32Array(SPEED_PROBE_WORDS);
let speedProbeWarm = false;

function speedProbeRound(data) {
  let x = 2463534242;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = (data[i] + x + data[(i * 7) & (data.length - 1)]) | 0;
  }
  return x;
}

/**
 * How much fixed work this machine's core does per CPU second now: rounds of an integer loop over
 * 256 KB per CPU second of this process (time spent waiting for a core is not counted). A host
 * whose other guests share our cores' caches and memory bandwidth lowers it without showing as
 * steal; every process of a run then costs more CPU per command alike. Taken between points, so
 * runs (and the two systems of one run) can be told apart by the machine they met.
 */
export function machineSpeed(workMs = 300) {
  if (!speedProbeWarm) {
    for (const end = performance.now() + 100; performance.now() < end; ) speedProbeRound(speedProbeData);
    speedProbeWarm = true;
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rounds = 0;
  while (performance.now() - t0 < workMs) {
    speedProbeRound(speedProbeData);
    rounds++;
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    roundsPerCpuSecond: cpuSeconds > 0 ? Math.round(rounds / cpuSeconds) : null,
    // Below 1: the probe waited for a core (something else ran), which its per-CPU-second figure leaves out.
    cpuShare: wallSeconds > 0 ? Math.round((cpuSeconds / wallSeconds) * 100) / 100 : null,
  };
}
