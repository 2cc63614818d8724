/**
 * A syntax check of Traefik router rules (v3, and v2's matcher names), so a typo fails the
 * deploy before any container exists instead of leaving a router in Traefik's `error[]`.
 *
 * Grammar: expr := and ('||' and)* ; and := unary ('&&' unary)* ; unary := '!' unary | primary ;
 * primary := '(' expr ')' | Matcher '(' string (',' string)* ')' ; strings are `backticked` or
 * "double-quoted" (with backslash escapes).
 */

/** Matcher name → the number of arguments it takes [min, max]. */
const MATCHERS: Record<string, [number, number]> = {
  Host: [1, Infinity],
  HostRegexp: [1, Infinity],
  Path: [1, Infinity],
  PathPrefix: [1, Infinity],
  PathRegexp: [1, 1],
  Method: [1, Infinity],
  Header: [2, 2],
  HeaderRegexp: [2, 2],
  Query: [1, 2],
  QueryRegexp: [1, 2],
  ClientIP: [1, Infinity],
  // Traefik v2 names.
  Headers: [2, 2],
  HeadersRegexp: [2, 2],
  HostHeader: [1, Infinity],
};

type Token = { kind: 'ident'; text: string; at: number } | { kind: 'string'; text: string; at: number } | { kind: 'op'; text: '(' | ')' | ',' | '&&' | '||' | '!'; at: number };

export class RuleSyntaxError extends Error {
  override readonly name = 'RuleSyntaxError';
}

function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < rule.length) {
    const c = rule[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z]/.test(c)) {
      const start = i;
      while (i < rule.length && /[A-Za-z0-9_]/.test(rule[i]!)) i++;
      tokens.push({ kind: 'ident', text: rule.slice(start, i), at: start });
    } else if (c === '`') {
      const end = rule.indexOf('`', i + 1);
      if (end < 0) throw new RuleSyntaxError(`unterminated \` string at column ${i + 1}`);
      tokens.push({ kind: 'string', text: rule.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (c === '"') {
      const start = i;
      let text = '';
      i++;
      while (i < rule.length && rule[i] !== '"') {
        if (rule[i] === '\\' && i + 1 < rule.length) i++;
        text += rule[i];
        i++;
      }
      if (i >= rule.length) throw new RuleSyntaxError(`unterminated " string at column ${start + 1}`);
      tokens.push({ kind: 'string', text, at: start });
      i++;
    } else if (rule.startsWith('&&', i) || rule.startsWith('||', i)) {
      tokens.push({ kind: 'op', text: rule.slice(i, i + 2) as '&&' | '||', at: i });
      i += 2;
    } else if (c === '(' || c === ')' || c === ',' || c === '!') {
      tokens.push({ kind: 'op', text: c, at: i });
      i++;
    } else {
      throw new RuleSyntaxError(`unexpected ${JSON.stringify(c)} at column ${i + 1} (a rule is matchers like Host(\`example.com\`), arguments in backticks)`);
    }
  }
  return tokens;
}

/** Throws RuleSyntaxError with a short reason; returns the matcher names used. */
export function checkRuleSyntax(rule: string): string[] {
  if (rule.trim() === '') throw new RuleSyntaxError('empty rule');
  const tokens = tokenize(rule);
  const used: string[] = [];
  let pos = 0;
  const peek = () => tokens[pos];
  const where = (token: Token | undefined) => (token ? `at column ${token.at + 1}` : 'at the end');
  const expectOp = (text: string) => {
    const token = tokens[pos];
    if (token?.kind !== 'op' || token.text !== text) throw new RuleSyntaxError(`expected ${text} ${where(token)}`);
    pos++;
  };

  const primary = (): void => {
    const token = peek();
    if (token?.kind === 'op' && token.text === '(') {
      pos++;
      expression();
      expectOp(')');
      return;
    }
    if (token?.kind !== 'ident') throw new RuleSyntaxError(`expected a matcher such as Host(\`example.com\`) ${where(token)}`);
    const arity = MATCHERS[token.text];
    if (!arity) throw new RuleSyntaxError(`unknown matcher ${token.text} (known: ${Object.keys(MATCHERS).join(', ')})`);
    pos++;
    expectOp('(');
    let count = 0;
    for (;;) {
      const arg = peek();
      if (arg?.kind !== 'string') throw new RuleSyntaxError(`${token.text}: expected a \`quoted\` argument ${where(arg)}`);
      if (arg.text === '' && token.text !== 'Query' && token.text !== 'Header') throw new RuleSyntaxError(`${token.text}: empty argument`);
      pos++;
      count++;
      const next = peek();
      if (next?.kind === 'op' && next.text === ',') {
        pos++;
        continue;
      }
      break;
    }
    expectOp(')');
    const [min, max] = arity;
    if (count < min || count > max) {
      const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new RuleSyntaxError(`${token.text} takes ${wanted} argument${min === 1 && max === 1 ? '' : 's'}, got ${count}`);
    }
    used.push(token.text);
  };
  const unary = (): void => {
    const token = peek();
    if (token?.kind === 'op' && token.text === '!') {
      pos++;
      unary();
    } else {
      primary();
    }
  };
  const conjunction = (): void => {
    unary();
    while (peek()?.kind === 'op' && peek()!.text === '&&') {
      pos++;
      unary();
    }
  };
  const expression = (): void => {
    conjunction();
    while (peek()?.kind === 'op' && peek()!.text === '||') {
      pos++;
      conjunction();
    }
  };

  expression();
  if (pos < tokens.length) throw new RuleSyntaxError(`unexpected ${tokens[pos]!.text} ${where(tokens[pos])}`);
  return used;
}
