import { describe, expect, it } from 'vitest';
import { BodyBudget } from '../../src/http/body-budget.js';

describe('the body budget', () => {
  it('gives shares while they fit, grows them while there is room, and takes each back once', () => {
    const seen: number[] = [];
    const budget = new BodyBudget(100, (n) => seen.push(n));
    const a = budget.take(60)!;
    expect(budget.take(41)).toBeUndefined();
    const b = budget.take(0)!;
    expect(b.grow(40)).toBe(true);
    expect(b.grow(1)).toBe(false);
    expect(budget.inUse).toBe(100);
    a.release();
    a.release();
    expect(budget.inUse).toBe(40);
    expect(a.grow(1)).toBe(false);
    b.release();
    expect(budget.inUse).toBe(0);
    expect(seen).toEqual([60, 60, 100, 40, 0]);
  });
});
