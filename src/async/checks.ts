/**
 * Run independent checks that change nothing at once. The first failure in the order given is
 * the error, whichever failed first in time, so the one line a bad input gets does not depend on
 * timing; every check has settled when this returns.
 */
export async function checkAll(checks: readonly (Promise<unknown> | undefined)[]): Promise<void> {
  const settled = await Promise.allSettled(checks.map((check) => check ?? Promise.resolve()));
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}
