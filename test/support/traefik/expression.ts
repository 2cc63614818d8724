/**
 * Traefik's expression syntax, shared by router rules (`Host(`a`) && PathPrefix(`/v1`)`) and
 * provider constraints (`Label(`team`, `ml`) && !LabelRegex(`env`, `dev.*`)`): calls with
 * backquoted or double-quoted string arguments, combined with `&&`, `||`, `!` and parentheses
 * (`&&` binds tighter than `||`).
 */
export type Expression = { kind: 'call'; name: string; args: string[] } | { kind: 'not'; operand: Expression } | { kind: 'and' | 'or'; left: Expression; right: Expression };

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

type Token = { type: 'ident' | 'string' | '(' | ')' | ',' | '&&' | '||' | '!'; value: string; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',' || c === '!') {
      tokens.push({ type: c, value: c, at: i });
      i++;
    } else if (text.startsWith('&&', i) || text.startsWith('||', i)) {
      tokens.push({ type: text.slice(i, i + 2) as '&&' | '||', value: text.slice(i, i + 2), at: i });
      i += 2;
    } else if (c === '`' || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new ExpressionError(`unterminated string starting at position ${i}`);
      tokens.push({ type: 'string', value: text.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      const match = /^[A-Za-z][A-Za-z0-9]*/.exec(text.slice(i))!;
      tokens.push({ type: 'ident', value: match[0], at: i });
      i += match[0].length;
    } else {
      throw new ExpressionError(`unexpected character ${JSON.stringify(c)} at position ${i}`);
    }
  }
  return tokens;
}

export function parseExpression(text: string): Expression {
  const tokens = tokenize(text);
  let position = 0;
  const peek = () => tokens[position];
  const expect = (type: Token['type']): Token => {
    const token = tokens[position];
    if (!token || token.type !== type) {
      throw new ExpressionError(`expected ${type === 'ident' ? 'a matcher name' : type === 'string' ? 'a quoted string' : `"${type}"`} ${token ? `at position ${token.at}, got ${JSON.stringify(token.value)}` : 'at the end'}`);
    }
    position++;
    return token;
  };

  function primary(): Expression {
    const token = peek();
    if (token?.type === '!') {
      position++;
      return { kind: 'not', operand: primary() };
    }
    if (token?.type === '(') {
      position++;
      const inner = or();
      expect(')');
      return inner;
    }
    const name = expect('ident').value;
    expect('(');
    const args: string[] = [];
    if (peek()?.type !== ')') {
      args.push(expect('string').value);
      while (peek()?.type === ',') {
        position++;
        args.push(expect('string').value);
      }
    }
    expect(')');
    return { kind: 'call', name, args };
  }
  function and(): Expression {
    let left = primary();
    while (peek()?.type === '&&') {
      position++;
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  }
  function or(): Expression {
    let left = and();
    while (peek()?.type === '||') {
      position++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  }

  if (tokens.length === 0) throw new ExpressionError('empty expression');
  const expression = or();
  if (position < tokens.length) throw new ExpressionError(`unexpected ${JSON.stringify(tokens[position]!.value)} at position ${tokens[position]!.at}`);
  return expression;
}

/** Evaluate with one predicate per call; `check` validates each call once, before evaluation. */
export function compileExpression<T>(expression: Expression, matchers: Record<string, { arity: number[]; build: (args: string[]) => (input: T) => boolean }>): (input: T) => boolean {
  switch (expression.kind) {
    case 'not': {
      const operand = compileExpression(expression.operand, matchers);
      return (input) => !operand(input);
    }
    case 'and': {
      const left = compileExpression(expression.left, matchers);
      const right = compileExpression(expression.right, matchers);
      return (input) => left(input) && right(input);
    }
    case 'or': {
      const left = compileExpression(expression.left, matchers);
      const right = compileExpression(expression.right, matchers);
      return (input) => left(input) || right(input);
    }
    case 'call': {
      const matcher = matchers[expression.name];
      if (!matcher) throw new ExpressionError(`unsupported matcher ${JSON.stringify(expression.name)} (known: ${Object.keys(matchers).join(', ')})`);
      if (!matcher.arity.includes(expression.args.length)) {
        throw new ExpressionError(`${expression.name}: expected ${matcher.arity.join(' or ')} argument(s), got ${expression.args.length}`);
      }
      return matcher.build(expression.args);
    }
  }
}

function regex(source: string, flags = ''): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new ExpressionError(`invalid regular expression ${JSON.stringify(source)}: ${(error as Error).message}`);
  }
}

/** What a router rule sees of a request. */
export interface RequestFacts {
  host: string;
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  query: URLSearchParams;
}

function headerValues(facts: RequestFacts, name: string): string[] {
  const value = facts.headers[name.toLowerCase()];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

const ruleMatchers: Record<string, { arity: number[]; build: (args: string[]) => (facts: RequestFacts) => boolean }> = {
  Host: {
    arity: [1],
    build:
      ([host]) =>
      (facts) =>
        facts.host.toLowerCase() === host!.toLowerCase(),
  },
  HostRegexp: {
    arity: [1],
    build: ([source]) => {
      const re = regex(source!, 'i');
      return (facts) => re.test(facts.host);
    },
  },
  Path: {
    arity: [1],
    build:
      ([path]) =>
      (facts) =>
        facts.path === path,
  },
  PathPrefix: {
    arity: [1],
    build:
      ([prefix]) =>
      (facts) =>
        facts.path.startsWith(prefix!),
  },
  PathRegexp: {
    arity: [1],
    build: ([source]) => {
      const re = regex(source!);
      return (facts) => re.test(facts.path);
    },
  },
  Method: {
    arity: [1],
    build:
      ([method]) =>
      (facts) =>
        facts.method.toUpperCase() === method!.toUpperCase(),
  },
  Header: {
    arity: [2],
    build:
      ([name, value]) =>
      (facts) =>
        headerValues(facts, name!).includes(value!),
  },
  HeaderRegexp: {
    arity: [2],
    build: ([name, source]) => {
      const re = regex(source!);
      return (facts) => headerValues(facts, name!).some((v) => re.test(v));
    },
  },
  Query: {
    arity: [1, 2],
    build:
      ([name, value]) =>
      (facts) =>
        value === undefined ? facts.query.has(name!) : facts.query.getAll(name!).includes(value),
  },
};

export interface CompiledRule {
  matches: (facts: RequestFacts) => boolean;
}

/** A router rule (Traefik v3 syntax); throws ExpressionError for anything Traefik would reject. */
export function compileRule(rule: string): CompiledRule {
  return { matches: compileExpression(parseExpression(rule), ruleMatchers) };
}

/** A provider `constraints` expression over a container's (or Swarm service's) labels. */
export function compileConstraints(constraints: string): (labels: Record<string, string>) => boolean {
  return compileExpression<Record<string, string>>(parseExpression(constraints), {
    Label: {
      arity: [2],
      build:
        ([key, value]) =>
        (labels) =>
          labels[key!] === value,
    },
    LabelRegex: {
      arity: [2],
      build: ([key, source]) => {
        const re = regex(source!);
        return (labels) => labels[key!] !== undefined && re.test(labels[key!]!);
      },
    },
  });
}
