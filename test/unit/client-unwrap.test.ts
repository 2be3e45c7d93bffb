/**
 * createMailsyncClient() and unwrap() on answers the real service cannot be made to give here (a
 * proxy's HTML error page), through the client's `fetch` option; test/integration/typed-client.test.ts
 * runs them against the service.
 */
import { createMailsyncClient, MailsyncApiError, unwrap } from '@mailsync/client';
import { describe, expect, expectTypeOf, it } from 'vitest';

/** A fetch that records its requests and answers `answer`. */
function fakeFetch(answer: () => Response): { fetch: typeof globalThis.fetch; requests: Request[] } {
  const requests: Request[] = [];
  const fetch = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    requests.push(new Request(input, init));
    return answer();
  };
  return { fetch, requests };
}

const json = (status: number, body: unknown, type = 'application/json') => new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

describe('createMailsyncClient', () => {
  it('sends the API key as a Bearer token to the base URL, without doubling its slash', async () => {
    const fake = fakeFetch(() => json(200, { items: [], nextCursor: null }));
    const client = createMailsyncClient({ baseUrl: 'https://mailsync.example/', apiKey: 'key-0123456789abcdef', fetch: fake.fetch });
    const page = await unwrap(client.GET('/v1/connections', { params: { query: { limit: 5 } } }));
    expect(page).toEqual({ items: [], nextCursor: null });
    expect(fake.requests.map((r) => [r.method, r.url, r.headers.get('authorization')])).toEqual([
      ['GET', 'https://mailsync.example/v1/connections?limit=5', 'Bearer key-0123456789abcdef'],
    ]);
  });

  it('refuses an empty API key at once', () => {
    expect(() => createMailsyncClient({ baseUrl: 'https://mailsync.example', apiKey: ' ' })).toThrow(TypeError);
  });
});

describe('unwrap', () => {
  const client = (answer: () => Response) => createMailsyncClient({ baseUrl: 'https://mailsync.example', apiKey: 'k', fetch: fakeFetch(answer).fetch });

  it('types the data of the operation, and undefined for one without content', async () => {
    const deleted = await unwrap(client(() => new Response(null, { status: 204 })).DELETE('/v1/webhooks/{id}', { params: { path: { id: 'whk_AAAAAAAAAAAAAAAA' } } }));
    expectTypeOf(deleted).toEqualTypeOf<undefined>();
    expect(deleted).toBeUndefined();
  });

  it('throws a problem answer as a MailsyncApiError with its code and problem', async () => {
    const problem = { type: 'about:blank', title: 'Not Found', status: 404, detail: 'no such mailbox', code: 'not_found' };
    const call = client(() => json(404, problem, 'application/problem+json')).GET('/v1/mailboxes/{id}', { params: { path: { id: 'mbx_AAAAAAAAAAAAAAAA' } } });
    const err = await unwrap(call).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MailsyncApiError);
    expect(err).toMatchObject({ name: 'MailsyncApiError', status: 404, code: 'not_found', problem, message: '404 not_found: no such mailbox' });
  });

  it('throws an answer that is no problem (a proxy\'s page) with the code http_<status>', async () => {
    const call = client(() => new Response('<html>Bad Gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } })).GET('/v1/connections');
    const err = await unwrap(call).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ name: 'MailsyncApiError', status: 502, code: 'http_502', problem: undefined });
  });
});
