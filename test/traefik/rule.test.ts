import { describe, expect, it } from 'vitest';
import { checkRuleSyntax } from '../../src/traefik/rule';

describe('checkRuleSyntax', () => {
  it.each([
    ['Host(`iris.example.com`)', ['Host']],
    ['Host(`iris.example.com`) && PathPrefix(`/v1`)', ['Host', 'PathPrefix']],
    ['Host("iris.example.com") || (Path(`/a`) && !Method(`POST`))', ['Host', 'Path', 'Method']],
    ['Header(`X-Model`, `iris`)', ['Header']],
    ['Query(`debug`)', ['Query']],
    ['Query(`model`, `iris`)', ['Query']],
    ['HostRegexp(`^.+\\.example\\.com$`)', ['HostRegexp']],
    ['Host(`a.example.com`, `b.example.com`)', ['Host']],
    ['ClientIP(`10.0.0.0/8`)', ['ClientIP']],
    ['  PathPrefix(`/`)  ', ['PathPrefix']],
  ])('accepts %s', (rule, matchers) => expect(checkRuleSyntax(rule)).toEqual(matchers));

  it.each([
    ['', /empty rule/],
    ['iris.example.com', /unexpected "\." at column 5 \(a rule is matchers like Host/],
    ['Host(iris.example.com)', /unexpected "\." at column 10/],
    ['Host(iris)', /Host: expected a `quoted` argument at column 6/],
    ['Host', /expected \( at the end/],
    ['Host(`iris.example.com`', /expected \) at the end/],
    ['Host(`iris.example.com)', /unterminated ` string/],
    ['Hots(`iris.example.com`)', /unknown matcher Hots/],
    ['Host(`a`) &&', /expected a matcher .* at the end/],
    ['Host(`a`) & Path(`/`)', /unexpected "&"/],
    ['Host(`a`) Path(`/`)', /unexpected Path/],
    ['Header(`X-Model`)', /Header takes 2 arguments, got 1/],
    ['PathRegexp(`a`, `b`)', /PathRegexp takes 1 argument, got 2/],
    ['Host(``)', /Host: empty argument/],
    ['(Host(`a`)', /expected \)/],
  ])('refuses %j', (rule, reason) => expect(() => checkRuleSyntax(rule)).toThrow(reason));
});
