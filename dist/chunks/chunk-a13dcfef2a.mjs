import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  InputError,
  quote
} from "./chunk-4eaf0c925e.mjs";

// src/metrics/rules.ts
var OPERATORS = [">=", "<=", ">", "<", "==", "!="];
var NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
var UNSIGNED_NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
var OPERATOR_CHARS = /[<>=!]/;
function parseRules(text, inputName = "rules") {
  const rules = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const body = stripComment(raw).trim();
    if (body === "") return;
    const fail = (problem) => {
      throw new InputError(inputName, `line ${index + 1} ${quote(raw.trim())}: ${problem}`);
    };
    rules.push(parseRule(body, index + 1, fail));
  });
  if (rules.length === 0) throw new InputError(inputName, 'holds no rules (one a line, like "accuracy >= 0.92")');
  return rules;
}
function stripComment(line) {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === "#" && !quoted) return line.slice(0, i);
  }
  return line;
}
function parseRule(text, line, fail) {
  let metric;
  let rest;
  if (text.startsWith('"')) {
    const end = text.indexOf('"', 1);
    if (end < 0) fail("the metric name\u2019s opening quote is never closed");
    metric = text.slice(1, end);
    rest = text.slice(end + 1);
  } else {
    const match = /^[^\s<>=!]+/.exec(text);
    if (!match) fail('expected a metric name first, like "accuracy >= 0.92"');
    metric = match[0];
    rest = text.slice(metric.length);
  }
  if (metric.trim() === "") fail("the metric name is empty");
  rest = rest.trimStart();
  const operatorText = /^[<>=!]+/.exec(rest)?.[0] ?? "";
  if (operatorText === "") {
    if (rest === "") fail(`expected an operator (${OPERATORS.join(", ")}) and a threshold after the metric name`);
    fail(`expected an operator (${OPERATORS.join(", ")}) after ${quote(metric)}${/\s/.test(text) && !text.startsWith('"') ? "; quote metric names that contain spaces" : ""}`);
  }
  if (!OPERATORS.includes(operatorText)) {
    const hint = operatorText === "=" ? " (use == to compare for equality)" : operatorText === "=>" ? " (did you mean >=?)" : operatorText === "=<" ? " (did you mean <=?)" : "";
    fail(`unknown operator ${quote(operatorText)}${hint}; use one of ${OPERATORS.join(", ")}`);
  }
  const operator = operatorText;
  const right = rest.slice(operatorText.length).trim();
  if (right === "") fail(`expected a number or a baseline expression after ${operator}`);
  if (NUMBER.test(metric) && !NUMBER.test(right)) fail('the metric goes on the left: write "metric >= 0.92", not "0.92 <= metric"');
  return { line, text, metric, operator, threshold: parseThreshold(right, fail) };
}
function parseThreshold(text, fail) {
  if (NUMBER.test(text)) {
    const value = Number(text);
    if (!Number.isFinite(value)) fail(`${quote(text)} is not a finite number`);
    return { kind: "number", value };
  }
  if (/^[+-]?[\d.]+(?:[eE][+-]?\d+)?\s*%$/.test(text)) fail('a percentage is relative to the baseline: write "baseline + 2%", or a plain number like 0.92');
  const baseline = /^baseline\b/.exec(text);
  if (!baseline) {
    if (OPERATOR_CHARS.test(text[0] ?? "")) fail(`unexpected ${quote(text)} after the operator; write operators without spaces inside (${OPERATORS.join(", ")})`);
    fail(`${quote(text)} is neither a number nor a baseline expression (baseline, baseline + 0.01, baseline - 2%, baseline * 1.1)`);
  }
  const rest = text.slice("baseline".length).trim();
  if (rest === "") return { kind: "baseline", adjust: null, amount: 0, percent: false };
  const adjust = rest[0];
  if (adjust !== "+" && adjust !== "-" && adjust !== "*") fail(`after "baseline" expected +, - or * and a number, got ${quote(rest)}`);
  let amountText = rest.slice(1).trim();
  const percent = amountText.endsWith("%");
  if (percent) amountText = amountText.slice(0, -1).trim();
  if (amountText === "") fail(`expected a number after "baseline ${adjust}"`);
  if (!UNSIGNED_NUMBER.test(amountText)) fail(`${quote(amountText)} after "baseline ${adjust}" is not a plain number`);
  if (percent && adjust === "*") fail('a factor takes no percent sign: write "baseline * 1.02" or "baseline + 2%"');
  return { kind: "baseline", adjust, amount: Number(amountText), percent };
}
var RELATIVE_TOLERANCE = 1e-9;
function compare(value, operator, threshold) {
  const tolerance = RELATIVE_TOLERANCE * Math.max(Math.abs(value), Math.abs(threshold));
  const difference = value - threshold;
  switch (operator) {
    case ">=":
      return difference >= -tolerance;
    case "<=":
      return difference <= tolerance;
    case ">":
      return difference > tolerance;
    case "<":
      return difference < -tolerance;
    case "==":
      return Math.abs(difference) <= tolerance;
    case "!=":
      return Math.abs(difference) > tolerance;
  }
}
function thresholdValue(threshold, baseline) {
  if (threshold.kind === "number") return threshold.value;
  if (baseline === void 0) return void 0;
  const { adjust, amount, percent } = threshold;
  const step = percent ? Math.abs(baseline) * amount / 100 : amount;
  switch (adjust) {
    case null:
      return baseline;
    case "+":
      return baseline + step;
    case "-":
      return baseline - step;
    case "*":
      return baseline * amount;
  }
}
function evaluateRules(rules, metrics, baseline, onMissingBaseline) {
  const results = rules.map((rule) => {
    const value = metrics.numbers.get(rule.metric);
    const base = baseline?.numbers.get(rule.metric);
    const known = { rule, ...base !== void 0 ? { baseline: base } : {} };
    if (value === void 0) {
      const entry = metrics.entries.find((e) => e.name === rule.metric);
      if (entry) return { ...known, outcome: "fail", nonNumeric: entry.value, reason: `not a number (${JSON.stringify(entry.value)})` };
      return { ...known, outcome: "fail", reason: "missing from the metrics file" };
    }
    const threshold = thresholdValue(rule.threshold, base);
    if (threshold === void 0) {
      const reason = baseline === void 0 ? "no baseline" : "baseline has no such metric";
      return { ...known, value, outcome: onMissingBaseline === "pass" ? "skip" : "fail", reason };
    }
    return { ...known, value, threshold, outcome: compare(value, rule.operator, threshold) ? "pass" : "fail" };
  });
  const violations = results.filter((r) => r.outcome === "fail");
  return { results, passed: violations.length === 0, violations };
}
function violationsToJson(evaluation) {
  return evaluation.violations.map((r) => ({
    metric: r.rule.metric,
    rule: r.rule.text,
    line: r.rule.line,
    value: r.value ?? r.nonNumeric ?? null,
    threshold: r.threshold ?? null,
    baseline: r.baseline ?? null,
    ...r.reason ? { reason: r.reason } : {}
  }));
}

export {
  parseRules,
  evaluateRules,
  violationsToJson
};
