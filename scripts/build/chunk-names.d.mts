import type { BuildResult } from 'esbuild';

export function chunkName(inputs: Iterable<string>): string;
export function stableChunkNames(result: BuildResult<{ metafile: true; write: false }>, where: { root: string; dist: string }): { path: string; contents: string }[];
