import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config';

describe('readConfig', () => {
  it('has production defaults', () => {
    expect(readConfig({})).toEqual({
      host: '0.0.0.0',
      port: 8080,
      modelDir: '/model',
      maxBodyBytes: 1048576,
      maxBatchSize: 1000,
      shutdownTimeoutMs: 25000,
      keepAliveTimeoutMs: 95000,
      predictionLog: true,
      onnxRuntime: 'native',
      onnxProvider: 'auto',
      imageDigest: undefined,
      gitSha: undefined,
    });
  });

  it('reads every setting from the environment', () => {
    const config = readConfig({
      HOST: '127.0.0.1',
      PORT: '9000',
      MODEL_DIR: '/m',
      MAX_BODY_BYTES: '2048',
      MAX_BATCH_SIZE: '5',
      SHUTDOWN_TIMEOUT_SECONDS: '3',
      KEEP_ALIVE_TIMEOUT_SECONDS: '10',
      PREDICTION_LOG: 'off',
      TRAIN_TO_SERVE_IMAGE_DIGEST: 'sha256:abc',
      TRAIN_TO_SERVE_GIT_SHA: 'deadbeef',
      ONNX_RUNTIME: 'wasm',
      ONNX_PROVIDER: 'CPU',
    });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 9000,
      modelDir: '/m',
      maxBodyBytes: 2048,
      maxBatchSize: 5,
      shutdownTimeoutMs: 3000,
      keepAliveTimeoutMs: 10000,
      predictionLog: false,
      imageDigest: 'sha256:abc',
      gitSha: 'deadbeef',
      onnxRuntime: 'wasm',
      onnxProvider: 'cpu',
    });
  });

  it.each([
    [{ PORT: 'http' }, 'PORT: expected a whole number, got "http"'],
    [{ PORT: '70000' }, 'PORT: expected 0 to 65535, got 70000'],
    [{ MAX_BATCH_SIZE: '0' }, 'MAX_BATCH_SIZE: expected 1 to 1000000, got 0'],
    [{ MAX_BODY_BYTES: '1.5' }, 'MAX_BODY_BYTES: expected a whole number, got "1.5"'],
    [{ PREDICTION_LOG: 'file' }, 'PREDICTION_LOG: expected "stdout" or "off", got "file"'],
    [{ ONNX_RUNTIME: 'tensorrt' }, 'ONNX_RUNTIME: expected "native" or "wasm", got "tensorrt"'],
    [{ ONNX_PROVIDER: 'gpu' }, 'ONNX_PROVIDER: expected "auto" or "cpu" or "cuda", got "gpu"'],
  ])('rejects %j', (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });
});
