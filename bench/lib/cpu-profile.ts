/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and splits the main thread's time inside a window into
 * stages: each sample's time (the gap since the previous sample, so a sample delayed by a blocking call
 * such as fsync carries that wait) goes to the innermost frame on its stack that a rule recognises.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A rule: the stage a frame belongs to, or undefined to look at its caller. */
export type FrameRule = (url: string, functionName: string) => string | undefined;

/**
 * Milliseconds per stage for the samples taken between `fromUs` and `toUs` (the monotonic clock of
 * `process.hrtime`, in µs, which V8's profiler timestamps use too). "(idle)", "(garbage collector)" and
 * "(program)" are V8's own; frames no rule recognises up to the root count as "other". A `context`
 * rule recognises callers whose whole subtree is theirs (the outermost match wins over `rule`), e.g.
 * the store calls a background dispatcher makes.
 */
export function splitProfile(
  file: string,
  rule: FrameRule,
  fromUs: number,
  toUs: number,
  context: FrameRule = () => undefined,
): { stages: Map<string, number>; totalMs: number } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const contextOf = new Map<number, string | null>();
  const contextStage = (id: number): string | null => {
    const known = contextOf.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const p = parent.get(id);
    const outer = p === undefined ? null : contextStage(p);
    const stage =
      outer ??
      (node === undefined ? null : (context(node.callFrame.url, node.callFrame.functionName) ?? null));
    contextOf.set(id, stage);
    return stage;
  };
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stageOf.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    let stage: string;
    if (node === undefined) stage = "other";
    else {
      const { functionName, url } = node.callFrame;
      const outer = contextStage(id);
      if (outer !== null) stage = outer;
      else if (functionName === "(idle)") stage = "idle";
      else if (functionName === "(garbage collector)") stage = "GC";
      else if (functionName === "(program)") stage = "V8/native (program)";
      else {
        const p = parent.get(id);
        stage = rule(url, functionName) ?? (p === undefined ? "other" : classify(p));
      }
    }
    stageOf.set(id, stage);
    return stage;
  };
  const stages = new Map<string, number>();
  let t = profile.startTime;
  let totalMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's time is the gap since the previous one: a sample held back by a blocking call (the
    // signal is handled when the call returns) then carries the wait, on the stack that waited.
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const stage = classify(profile.samples[i] as number);
    stages.set(stage, (stages.get(stage) ?? 0) + ms);
    totalMs += ms;
  }
  return { stages, totalMs };
}
