import { describe, expect, it } from 'vitest';
import { compileConstraints, compileRule, ExpressionError, type RequestFacts } from './expression';

const request = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  host: 'iris.example.com',
  path: '/v1/predict',
  method: 'POST',
  headers: { 'x-team': 'ml' },
  query: new URLSearchParams('debug=1'),
  ...over,
});

describe('router rules', () => {
  it.each([
    ['Host(`iris.example.com`)', request(), true],
    ['Host(`IRIS.example.com`)', request(), true],
    ['Host("iris.example.com")', request(), true],
    ['Host(`other.example.com`)', request(), false],
    ['HostRegexp(`^[a-z]+\\.example\\.com$`)', request(), true],
    ['PathPrefix(`/v1`)', request(), true],
    ['PathPrefix(`/v2`)', request(), false],
    ['Path(`/v1/predict`)', request(), true],
    ['Path(`/v1`)', request(), false],
    ['PathRegexp(`^/v[0-9]+/`)', request(), true],
    ['Method(`post`)', request(), true],
    ['Header(`X-Team`, `ml`)', request(), true],
    ['HeaderRegexp(`X-Team`, `^m`)', request(), true],
    ['Query(`debug`, `1`)', request(), true],
    ['Query(`debug`)', request(), true],
    ['Host(`iris.example.com`) && PathPrefix(`/v1`)', request(), true],
    ['Host(`iris.example.com`) && PathPrefix(`/v2`)', request(), false],
    ['Host(`x`) || PathPrefix(`/v1`)', request(), true],
    ['!Host(`x`)', request(), true],
    ['Host(`x`) || Host(`iris.example.com`) && Path(`/nope`)', request(), false],
    ['(Host(`x`) || Host(`iris.example.com`)) && !Path(`/nope`)', request(), true],
  ])('%s matches: %s', (rule, facts, expected) => {
    expect(compileRule(rule).matches(facts)).toBe(expected);
  });

  it.each([
    ['', /empty expression/],
    ['Host(`a`', /expected "\)" at the end/],
    ['Host(`a`, `b`)', /Host: expected 1 argument\(s\), got 2/],
    ['ClientIP(`10.0.0.0/8`)', /unsupported matcher "ClientIP"/],
    ['Host(`a`) &&', /expected a matcher name at the end/],
    ['Host(a)', /expected a quoted string/],
    ['Host(`a) && Path(`/`)', /unexpected character/],
    ['HostRegexp(`(`)', /invalid regular expression/],
    ['Host(`a`) Host(`b`)', /unexpected "Host"/],
  ])('refuses %j', (rule, message) => {
    expect(() => compileRule(rule)).toThrow(ExpressionError);
    expect(() => compileRule(rule)).toThrow(message);
  });
});

describe('provider constraints', () => {
  const labels = { 'test.run': 'abc', env: 'prod-eu' };
  it.each([
    ['Label(`test.run`, `abc`)', true],
    ['Label(`test.run`, `xyz`)', false],
    ['LabelRegex(`env`, `^prod`)', true],
    ['LabelRegex(`missing`, `.*`)', false],
    ['Label(`test.run`, `abc`) && !LabelRegex(`env`, `dev`)', true],
  ])('%s: %s', (expression, expected) => {
    expect(compileConstraints(expression)(labels)).toBe(expected);
  });

  it('refuses router matchers in constraints', () => {
    expect(() => compileConstraints('Host(`a`)')).toThrow(/unsupported matcher "Host" \(known: Label, LabelRegex\)/);
  });
});
