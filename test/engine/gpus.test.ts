import { describe, expect, it } from 'vitest';
import { deviceRequests, parseGpus } from '../../src/engine/gpus';

describe('gpus for servers', () => {
  it.each([
    [undefined, undefined, []],
    ['', undefined, []],
    ['none', undefined, []],
    ['all', { kind: 'all' }, [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]],
    ['2', { kind: 'count', count: 2 }, [{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }]],
    ['0,3', { kind: 'ids', ids: ['0', '3'] }, [{ Driver: 'nvidia', Count: 0, DeviceIDs: ['0', '3'], Capabilities: [['gpu']] }]],
    ['device=1', { kind: 'ids', ids: ['1'] }, [{ Driver: 'nvidia', Count: 0, DeviceIDs: ['1'], Capabilities: [['gpu']] }]],
    ['GPU-1a2b-3c', { kind: 'ids', ids: ['GPU-1a2b-3c'] }, [{ Driver: 'nvidia', Count: 0, DeviceIDs: ['GPU-1a2b-3c'], Capabilities: [['gpu']] }]],
  ])('%j → DeviceRequests like docker run --gpus', (raw, request, requests) => {
    expect(parseGpus('gpus', raw)).toEqual(request);
    expect(deviceRequests(parseGpus('gpus', raw))).toEqual(requests);
  });

  it.each(['0', 'some', '1,1', '1;2'])('refuses %j naming the input', (raw) => expect(() => parseGpus('gpus', raw)).toThrow(/^Input "gpus": /));
});
