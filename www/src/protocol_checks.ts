// Compile-time checks of the worker protocol (protocol.ts), run by every tsc build: each request
// kind's result carries that kind's value, so a plan request cannot resolve with a generation's
// result, nor a generation's with a plan. Nothing here runs; the lines marked @ts-expect-error
// fail the build if they ever compile.

import type { GenerateResult } from './generated/wire.js';
import type { Replies, Result } from './protocol.js';
import type { ModelInfo, ModelPlan } from './types.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type ResultOf<K extends Result['request']> = Extract<Result, { request: K }>;

const repliesAreTheirKinds: [
  Same<ResultOf<'plan'>['value'], ModelPlan | null>,
  Same<ResultOf<'generate'>['value'], GenerateResult>,
  Same<ResultOf<'load'>['value'], ModelInfo>,
  Same<ResultOf<'countTokens'>['value'], number>,
] = [true, true, true, true];
void repliesAreTheirKinds;

void ((plan: ResultOf<'plan'>, generate: ResultOf<'generate'>, any: Result) => {
  // @ts-expect-error a plan's result holds no generation
  plan.value satisfies GenerateResult;
  // @ts-expect-error a generation's result holds no plan
  generate.value satisfies ModelPlan;
  // @ts-expect-error a result's value depends on its kind: unnarrowed, it is none of them
  any.value satisfies Replies['generate'];
  if (any.request === 'plan') any.value satisfies ModelPlan | null;
});
