/** How many servers are drained or removed at once. */
export const PARALLEL_REMOVALS = 16;
