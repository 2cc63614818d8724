import { readFileSync } from 'node:fs';
import { startStandIn, type LogLevel } from './standin';
import { readStaticConfig, StaticConfigError } from './static-config';

/**
 * The Traefik stand-in as its own process, started with Traefik's own flags or config file:
 *
 *   npx tsx test/support/traefik/main.ts --entryPoints.web.address=127.0.0.1:8081 \
 *     --entryPoints.traefik.address=127.0.0.1:8082 --api.insecure=true --ping=true \
 *     --metrics.prometheus=true --providers.docker.exposedByDefault=false \
 *     --providers.docker.network=edge --providers.docker.allowEmptyServices=true
 *
 * It logs JSON lines on stdout; the line with `"msg":"ready"` carries the bound entry points.
 * SIGTERM or SIGINT stops it. With TRAEFIK_STANDIN_EXIT_WITH_PARENT=1 it also stops when its
 * stdin closes, so a test run that dies does not leave it behind.
 */
const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];

async function main(): Promise<void> {
  let config;
  try {
    config = readStaticConfig(process.argv.slice(2), (path) => readFileSync(path, 'utf8'));
  } catch (error) {
    process.stderr.write(`traefik stand-in: ${error instanceof StaticConfigError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const threshold = levels.indexOf(config.logLevel);
  const log = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (levels.indexOf(level) >= threshold) process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
  };
  let standIn;
  try {
    standIn = await startStandIn(config, log);
  } catch (error) {
    process.stderr.write(`traefik stand-in: ${(error as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), msg: 'ready', pid: process.pid, entryPoints: standIn.entryPoints })}\n`);

  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log('info', `Stopping (${why})`);
    void standIn.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (process.env.TRAEFIK_STANDIN_EXIT_WITH_PARENT === '1') {
    process.stdin.on('end', () => stop('parent gone'));
    process.stdin.on('error', () => stop('parent gone'));
    process.stdin.resume();
  }
}

void main();
