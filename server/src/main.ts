import { ConfigError, readConfig } from './config';
import { probe } from './healthcheck';
import { logLine, stdoutWriter } from './log';

/**
 * The reference prediction server's process: `node index.mjs` serves; `node index.mjs
 * --healthcheck` is the container's health probe. Signals: SIGUSR2 drains (readiness turns 503,
 * predictions keep being answered), SIGTERM and SIGINT stop gracefully.
 */
function fatal(message: string): never {
  process.stderr.write(logLine('error', { message }));
  process.exit(1);
}

async function healthcheck(): Promise<never> {
  let port = 8080;
  try {
    port = readConfig(process.env).port;
  } catch {
    // a bad PORT is the server's error to report; probe the default
  }
  const result = await probe(port);
  if (!result.healthy) process.stderr.write(`unhealthy: ${result.detail}\n`);
  process.exit(result.healthy ? 0 : 1);
}

async function serve(): Promise<void> {
  let config;
  try {
    config = readConfig(process.env);
  } catch (error) {
    fatal(error instanceof ConfigError ? `configuration: ${error.message}` : String(error));
  }
  // Loaded here, not at the top, so the health probe starts without prom-client and the model code.
  const { createPredictionServer } = await import('./server');
  const { ModelError } = await import('./model');
  const server = createPredictionServer(config, stdoutWriter);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(logLine('signal', { signal }));
    server.stop().then(
      () => process.exit(0),
      (error: Error) => fatal(`stop failed: ${error.message}`),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGUSR2', () => server.drain());

  try {
    await server.listen();
  } catch (error) {
    fatal(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  }
  try {
    await server.load();
  } catch (error) {
    fatal(error instanceof ModelError ? `cannot load the model: ${error.message}` : `cannot load the model: ${String(error)}`);
  }
}

if (process.argv.includes('--healthcheck')) {
  void healthcheck();
} else {
  void serve();
}
