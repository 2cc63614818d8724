/** A classifier's answer for one instance. */
export interface Prediction {
  class: string;
  probabilities: Record<string, number>;
}

/**
 * One row of scores as probabilities keyed by class (softmax unless they are probabilities
 * already), and the top class.
 */
export function classify(classes: readonly string[], scores: ArrayLike<number>, alreadyProbabilities: boolean): Prediction {
  const values = Array.from(scores);
  let exps = values;
  if (!alreadyProbabilities) {
    const top = Math.max(...values);
    exps = values.map((v) => Math.exp(v - top));
  }
  const total = alreadyProbabilities ? 1 : exps.reduce((a, b) => a + b, 0);
  const probabilities: Record<string, number> = {};
  let best = 0;
  classes.forEach((name, c) => {
    probabilities[name] = exps[c]! / total;
    if (exps[c]! > exps[best]!) best = c;
  });
  return { class: classes[best]!, probabilities };
}
