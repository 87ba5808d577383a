/** The preset names, apart from config.ts (which loads the pruning code), for the CLI's argument checks. */
export const PRESETS = ['smoke', 'small', 'cpu', 'paper'] as const;
export type PresetName = (typeof PRESETS)[number];

export function isPreset(p: string): p is PresetName {
  return (PRESETS as readonly string[]).includes(p);
}
