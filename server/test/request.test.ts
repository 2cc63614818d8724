import { describe, expect, it } from 'vitest';
import { irisModel } from '../../test/support/server-image';
import { parseModel } from '../src/model';
import { BadRequest, parsePredictRequest } from '../src/request';

const model = parseModel(JSON.stringify(irisModel()));
const named = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

describe('parsePredictRequest', () => {
  it('takes named and positional instances, in the model feature order', () => {
    const reordered = { petal_width: 0.2, sepal_length: 5.1, petal_length: 1.4, sepal_width: 3.5 };
    const request = parsePredictRequest(model, JSON.stringify({ instances: [named, [6.2, 2.9, 4.3, 1.3], reordered] }), 10);
    expect(request.rows).toEqual([
      [5.1, 3.5, 1.4, 0.2],
      [6.2, 2.9, 4.3, 1.3],
      [5.1, 3.5, 1.4, 0.2],
    ]);
    expect(request.instances[2]).toEqual(reordered);
  });

  it.each([
    ['not JSON', '{"instances": [', /^body is not valid JSON/],
    ['a bare array', '[[1,2,3,4]]', /^body must be a JSON object like \{"instances": \[\.\.\.\]\}, got an array$/],
    ['no instances', '{}', /^missing field "instances"/],
    ['an extra field', '{"instances": [], "signature": "x"}', /^unknown field "signature"/],
    ['instances not an array', '{"instances": {"a": 1}}', /^"instances" must be an array, got an object$/],
    ['no instance', '{"instances": []}', /^"instances" is empty/],
    ['too many', JSON.stringify({ instances: Array(11).fill([1, 2, 3, 4]) }), /^"instances" has 11 entries; at most 10 per request$/],
    ['a short row', '{"instances": [[1,2,3]]}', /^instances\[0\]: expected 4 values \(sepal_length, sepal_width, petal_length, petal_width\), got 3$/],
    ['a string value', '{"instances": [[1,2,"3",4]]}', /^instances\[0\]\[2\] \(petal_length\): expected a number, got the string "3"$/],
    ['a missing feature', JSON.stringify({ instances: [named, { ...named, petal_width: undefined }] }), /^instances\[1\]: missing feature "petal_width"$/],
    ['an unknown feature', JSON.stringify({ instances: [{ ...named, colour: 1 }] }), /^instances\[0\]: unknown feature "colour" \(the model's features: sepal_length/],
    ['a null value', JSON.stringify({ instances: [{ ...named, sepal_width: null }] }), /^instances\[0\]\.sepal_width: expected a number, got null$/],
    ['a scalar instance', '{"instances": [5]}', /^instances\[0\]: expected an object of feature values or an array of 4 numbers, got number 5$/],
  ])('rejects %s with a message that points at it', (_case, body, message) => {
    let caught: unknown;
    try {
      parsePredictRequest(model, body, 10);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BadRequest);
    expect((caught as BadRequest).status).toBe(400);
    expect((caught as BadRequest).message).toMatch(message);
  });
});
