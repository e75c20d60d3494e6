import { performance } from "node:perf_hooks";

/** Something to time: one operation (one call, one list). */
export type Operation = () => Promise<unknown>;

/** One side of a latency comparison. */
export interface LatencySide {
  /** The operation to time. */
  run: Operation;
  /** Timed operations. A slow side may run fewer; every side is spread over the same number of batches. */
  iterations: number;
  /** Untimed operations first, so that the JIT and the server are warm. Default `iterations / 10`. */
  warmup?: number;
}

/** What one side of a latency comparison measured. */
export interface LatencySummary {
  iterations: number;
  medianMs: number;
  p99Ms: number;
  /**
   * CPU time of this process (all threads, user + system) per operation, in milliseconds. Unlike wall time it does not
   * count waiting for the server or for a core, so it shows the client-side cost even on a busy machine.
   */
  cpuPerOperationMs: number;
}

/** Options of {@link measureThroughput}. */
export interface MeasureThroughputOptions {
  /** Rounds per side; each round starts `concurrency` operations at once and waits for all of them. */
  rounds: number;
  /** Operations in flight per round. */
  concurrency: number;
  /** Untimed rounds per side first. Default 3. */
  warmupRounds?: number;
}

/** What one side of a throughput comparison measured. */
export interface ThroughputSummary {
  calls: number;
  /** `concurrency` divided by the median round's duration: robust to a round that a busy machine stalled. */
  callsPerSecond: number;
  /** CPU time of this process per call, in milliseconds (see {@link LatencySummary.cpuPerOperationMs}). */
  cpuPerOperationMs: number;
}

function percentile(sorted: Float64Array, fraction: number): number {
  // Nearest rank: the smallest sample at or above the fraction.
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

/** CPU time of this process since `since`, in milliseconds. */
function cpuMsSince(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

/** Side indexes in order, then reversed, then in order again, ... */
function alternatingOrder(sideCount: number, step: number): number[] {
  const order = Array.from({ length: sideCount }, (_, index) => index);
  return step % 2 === 0 ? order : order.reverse();
}

/**
 * Times each operation of every side, one at a time. Sides run in alternating batches (A B, then B A, ...), so that
 * noise on a shared machine lands on all of them alike instead of on whichever ran last.
 */
export async function measureLatency(sides: readonly LatencySide[], options: { batchSize?: number } = {}): Promise<LatencySummary[]> {
  for (const side of sides) for (let index = 0; index < (side.warmup ?? Math.ceil(side.iterations / 10)); index++) await side.run();

  const batches = Math.ceil(Math.max(...sides.map((side) => side.iterations)) / (options.batchSize ?? 100));
  const samples = sides.map((side) => new Float64Array(side.iterations));
  const cpuMs = sides.map(() => 0);
  for (let batch = 0; batch < batches; batch++) {
    for (const sideIndex of alternatingOrder(sides.length, batch)) {
      const { run, iterations } = sides[sideIndex]!;
      const target = samples[sideIndex]!;
      const end = Math.round(((batch + 1) * iterations) / batches);
      const cpuStart = process.cpuUsage();
      for (let index = Math.round((batch * iterations) / batches); index < end; index++) {
        const started = performance.now();
        await run();
        target[index] = performance.now() - started;
      }
      cpuMs[sideIndex]! += cpuMsSince(cpuStart);
    }
  }
  return samples.map((sideSamples, sideIndex) => {
    const sorted = sideSamples.sort();
    return {
      iterations: sorted.length,
      medianMs: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      cpuPerOperationMs: cpuMs[sideIndex]! / sorted.length,
    };
  });
}

/** Runs rounds of `concurrency` simultaneous operations per side, alternating sides round by round. */
export async function measureThroughput(sides: readonly Operation[], options: MeasureThroughputOptions): Promise<ThroughputSummary[]> {
  const { rounds, concurrency } = options;
  const runRound = (operation: Operation) => Promise.all(Array.from({ length: concurrency }, () => operation()));
  for (let round = 0; round < (options.warmupRounds ?? 3); round++) for (const operation of sides) await runRound(operation);

  const roundMs = sides.map(() => new Float64Array(rounds));
  const cpuMs = sides.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (const sideIndex of alternatingOrder(sides.length, round)) {
      const cpuStart = process.cpuUsage();
      const started = performance.now();
      await runRound(sides[sideIndex]!);
      roundMs[sideIndex]![round] = performance.now() - started;
      cpuMs[sideIndex]! += cpuMsSince(cpuStart);
    }
  }
  return roundMs.map((durations, sideIndex) => ({
    calls: rounds * concurrency,
    callsPerSecond: concurrency / (percentile(durations.sort(), 0.5) / 1000),
    cpuPerOperationMs: cpuMs[sideIndex]! / (rounds * concurrency),
  }));
}
