import * as core from '@actions/core';
import { errorMessage } from '../inputs/errors';
import { truncate } from '../markdown/markdown';

/**
 * The glue between the runner and domain code: reading inputs, writing outputs and the job
 * summary, and the single place an action fails. Only action entries import this.
 */

/** An input's text, or undefined when empty (the runner passes '' for inputs not given). */
export function input(name: string): string | undefined {
  const value = core.getInput(name, { trimWhitespace: false });
  return value.trim() === '' ? undefined : value;
}

/** An input that action.yml gives a default, so it is always present when the runner starts us. */
export function inputOrDefault(name: string, fallback: string): string {
  return input(name) ?? fallback;
}

/** A secret input: masked in the log before anything else can print it. */
export function secretInput(name: string): string | undefined {
  const value = input(name);
  if (value !== undefined) core.setSecret(value);
  return value;
}

export function maskSecret(value: string | undefined): void {
  if (value) core.setSecret(value);
}

/** Values shorter than this are never masked: masking "1" would hide every 1 in the log. */
export const MIN_MASKED_LENGTH = 4;
const NOT_SECRET_WORDS = new Set(['true', 'false', 'yes', 'no', 'on', 'off', 'null', 'none']);
const SHORT_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Whether an `env` value could be a secret and is masked: at least MIN_MASKED_LENGTH characters,
 * and not a boolean word or a number of fewer than 8 characters (epochs, seeds, learning rates),
 * which would mask every such number in the log. The `env` inputs of train and deploy say so.
 */
export function couldBeSecret(value: string): boolean {
  if (value.length < MIN_MASKED_LENGTH) return false;
  if (NOT_SECRET_WORDS.has(value.toLowerCase())) return false;
  return !(value.length < 8 && SHORT_NUMBER.test(value));
}

/** Mask the `env` values that could be secrets (see couldBeSecret). */
export function maskEnvValues(values: Iterable<string>): void {
  for (const value of values) if (couldBeSecret(value)) core.setSecret(value);
}

/** Set outputs: strings as they are, everything else as JSON. */
export function setOutputs(outputs: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(outputs)) {
    if (value === undefined) continue;
    core.setOutput(name, typeof value === 'string' ? value : JSON.stringify(value));
  }
}

/** GitHub caps a step's summary at 1 MiB. */
const SUMMARY_LIMIT = 1_000_000;

export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.info(markdown);
    return;
  }
  await core.summary.addRaw(truncate(markdown, SUMMARY_LIMIT), true).write();
}

export const log = {
  info: (message: string) => core.info(message),
  warning: (message: string) => core.warning(message),
  debug: (message: string) => core.debug(message),
  group: <T>(name: string, fn: () => Promise<T>) => core.group(name, fn),
};

/**
 * Run an action's main function: the one place a step fails. Helpers throw; this prints the
 * message once (one line, naming the input or resource) and sets the exit code.
 */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof Error && error.stack) core.debug(error.stack);
    core.setFailed(errorMessage(error));
  }
}
