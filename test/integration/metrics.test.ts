/**
 * GET /metrics: a real scrape passes `promtool check metrics` (Debian's
 * `prometheus` package; CI installs it, elsewhere the check is skipped with a
 * message when promtool is missing), queue depths are read from BullMQ at
 * scrape time, and a scrape with Redis gone still answers, in time, without
 * the queue depths it cannot know.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../support/fixtures.js';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const promtoolMissing = promtool.error !== undefined;
// CI must run the check: there a missing promtool fails the test instead of skipping it.
const skipPromtool = promtoolMissing && process.env.CI !== 'true';
if (skipPromtool) console.warn('metrics.test.ts: promtool not found (apt-get install prometheus): skipping the promtool check');

const t = useTestApp();

const scrape = async (): Promise<string> => {
  const res = await t.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
};

describe('GET /metrics', () => {
  it('reports queue depths by queue and state, read at scrape time', async () => {
    await t.deps.polling.scheduler.schedule('mbx_metrics_probe000', Date.now() + 60_000);
    const body = await scrape();
    expect(body).toMatch(/^mailsync_queue_jobs\{queue="poll",state="delayed"\} 1$/m);
    for (const queue of ['webhook-delivery', 'webhook-probe', 'send']) {
      expect(body).toMatch(new RegExp(`^mailsync_queue_jobs\\{queue="${queue}",state="waiting"\\} 0$`, 'm'));
    }
    await t.deps.polling.scheduler.unschedule('mbx_metrics_probe000');
    expect(await scrape()).toMatch(/^mailsync_queue_jobs\{queue="poll",state="delayed"\} 0$/m);
  });

  it.skipIf(skipPromtool)('passes promtool check metrics', async () => {
    expect(promtoolMissing, 'promtool is required in CI: apt-get install prometheus').toBe(false);
    t.deps.metrics.polls.inc({ result: 'ok' });
    t.deps.metrics.pollDuration.observe(0.02);
    t.deps.metrics.tokenRequests.inc({ result: 'error', code: 'invalid_client_secret' });
    const body = await scrape();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
  });

  it('answers in time without the queue depths while Redis does not, and has them again after', async () => {
    t.deps.metrics.polls.inc({ result: 'ok' }); // a series that needs no Redis (it came from the promtool test, skipped without promtool)
    // CLIENT PAUSE: Redis holds every client's commands for 3 s, like a Redis that stopped answering.
    await t.deps.redis.client('PAUSE', 3_000, 'ALL');
    const started = Date.now();
    const body = await scrape();
    expect(Date.now() - started).toBeLessThan(2_900);
    expect(body).not.toMatch(/^mailsync_queue_jobs\{/m);
    expect(body).toMatch(/^mailsync_polls_total/m);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await scrape()).toMatch(/^mailsync_queue_jobs\{queue="poll",state="delayed"\} 0$/m);
  });
});
