import { describe, expect, it } from 'vitest';
import { routingGap } from './routing-watch';

/** The check the saturation test applies to each /api/rawdata snapshot of the stand-in. */
const router = (service: string) => ({ entryPoints: ['web'], service, rule: 'Host(`a`)', status: 'enabled' as const, using: ['web'] });
const lb = (serverStatus?: Record<string, 'UP' | 'DOWN'>) => ({ status: 'enabled' as const, usedBy: [], type: 'loadbalancer' as const, ...(serverStatus ? { serverStatus } : {}) });

describe('routingGap', () => {
  it('labels: routable while the Docker service has a server UP', () => {
    expect(routingGap({ routers: { 'iris@docker': router('iris') }, services: { 'iris@docker': lb({ 'http://a:8080': 'UP' }) } }, 'iris', 'labels')).toBeUndefined();
    expect(routingGap({ routers: { 'iris@docker': router('iris') }, services: { 'iris@docker': lb() } }, 'iris', 'labels')).toMatch(/no server UP/);
    expect(routingGap({ routers: { 'iris@docker': router('iris') }, services: { 'iris@docker': lb({ 'http://a:8080': 'DOWN' }) } }, 'iris', 'labels')).toMatch(/no server UP/);
    expect(routingGap({ routers: {}, services: {} }, 'iris', 'labels')).toMatch(/router iris@docker is absent/);
  });

  it('file: routable while a version with weight above 0 has a server UP', () => {
    const weighted = (services: { name: string; weight: number }[]) => ({ status: 'enabled' as const, usedBy: ['iris@file'], type: 'weighted' as const, weighted: { services } });
    const services = { 'iris-a@docker': lb({ 'http://a:8080': 'UP' }), 'iris-b@docker': lb() };
    const routers = { 'iris@file': router('iris') };
    expect(routingGap({ routers, services: { ...services, 'iris@file': weighted([{ name: 'iris-a@docker', weight: 1 }]) } }, 'iris', 'file')).toBeUndefined();
    expect(routingGap({ routers, services: { ...services, 'iris@file': weighted([{ name: 'iris-b@docker', weight: 1 }]) } }, 'iris', 'file')).toMatch(/none of them with a server UP/);
    expect(
      routingGap(
        {
          routers,
          services: {
            ...services,
            'iris@file': weighted([
              { name: 'iris-a@docker', weight: 0 },
              { name: 'iris-b@docker', weight: 1 },
            ]),
          },
        },
        'iris',
        'file',
      ),
    ).toMatch(/none of them/);
    expect(routingGap({ routers: { 'iris@file': { ...router('iris'), status: 'disabled' as const } }, services }, 'iris', 'file')).toMatch(/is disabled/);
  });
});
