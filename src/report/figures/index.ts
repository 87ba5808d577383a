export * from './common.ts';
export { accuracyVsCost, accuracyVsCostSpec } from './accuracyVsCost.ts';
export { rethinkingBars, rethinkingBarsSpec } from './rethinkingBars.ts';
export { layerWidths, layerWidthsSpec, architectureKind } from './layerWidths.ts';
export { trainingCurves, trainingCurvesSpec, pickCurveCell } from './trainingCurves.ts';
export { bnGammas, bnGammasSpec } from './bnGammas.ts';
export { oursVsPublished, oursVsPublishedSpec } from './oursVsPublished.ts';
export { effectSizes, effectSizesSpec, effectPoints, EFFECT_COMPARISONS, type EffectPoint } from './effectSizes.ts';
export { speedup, speedupSpec, speedupPoints, UNSTRUCTURED_NOTE } from './speedup.ts';
export { tradeoffCurves, tradeoffCurvesSpec, curvePoints, drawsCurve } from './tradeoffCurves.ts';
export { speedupVsTheory, speedupVsTheorySpec } from './speedupVsTheory.ts';
export { fineTuneConvergence, fineTuneCurves, fineTuneCurvesSpec, fineTunePoints, STILL_RISING_FROM, type FineTuneConvergence, type FineTunePoint } from './fineTuneCurves.ts';
export { sensitivitySpec, sensitivityLayerLabel } from './sensitivity.ts';

import { accuracyVsCost } from './accuracyVsCost.ts';
import { bnGammas } from './bnGammas.ts';
import { effectSizes } from './effectSizes.ts';
import { fineTuneCurves } from './fineTuneCurves.ts';
import type { FigureDef } from './common.ts';
import { layerWidths } from './layerWidths.ts';
import { oursVsPublished } from './oursVsPublished.ts';
import { rethinkingBars } from './rethinkingBars.ts';
import { speedup } from './speedup.ts';
import { speedupVsTheory } from './speedupVsTheory.ts';
import { tradeoffCurves } from './tradeoffCurves.ts';
import { trainingCurves } from './trainingCurves.ts';

/** Every figure of a report, in page order. */
export const FIGURES: readonly FigureDef[] = [
  accuracyVsCost,
  rethinkingBars,
  layerWidths,
  trainingCurves,
  bnGammas,
  effectSizes,
  oursVsPublished,
  speedup,
];

/** The tradeoff study's figures (issue 30), in page order. */
export const TRADEOFF_FIGURES: readonly FigureDef[] = [tradeoffCurves, speedupVsTheory, fineTuneCurves, trainingCurves];
