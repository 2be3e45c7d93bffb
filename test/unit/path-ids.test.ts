/** Path ids: the shapes (domain/ids.ts) and the startup rule that every route declares its path ids (http/plugins/path-ids.ts). */
import Fastify, { type RouteOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { isId, newId, requireId } from '../../src/domain/ids.js';
import { MalformedIdError, NotFoundError } from '../../src/errors/errors.js';
import { requirePathIds } from '../../src/http/plugins/path-ids.js';

const route = (url: string, pathIds?: Record<string, string>) =>
  ({ method: 'GET', url, handler: () => undefined, ...(pathIds ? { config: { pathIds } } : {}) }) as unknown as RouteOptions;

describe('id shapes', () => {
  it('takes a prefix and 16 base64url characters, nothing around them', () => {
    const id = newId('con');
    expect(isId(id, 'con')).toBe(true);
    for (const other of [`${id}:mailboxes`, `${id}:address:a@b.example`, `${id}}`, `{${id}}`, `${id}*`, ` ${id}`, id.slice(0, -1), `${id}A`,
      id.toUpperCase(), id.replace('con_', 'mbx_'), `${id}\n`, 42, undefined]) {
      expect(isId(other, 'con'), String(other)).toBe(false);
    }
  });

  it('requireId throws a MalformedIdError, which is the not_found of an unknown id', () => {
    const err = (() => {
      try {
        requireId('con_x:mailboxes', 'con');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(MalformedIdError);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ code: 'not_found', detail: 'Connection con_x:mailboxes does not exist.', fields: { resource: 'Connection' } });
  });
});

describe('requirePathIds', () => {
  it('refuses a route whose path parameters are not all declared, or that declares others', () => {
    expect(() => requirePathIds(route('/v1/things/:id'))).toThrow(/config\.pathIds/);
    expect(() => requirePathIds(route('/v1/things/:id/parts/:partId', { id: 'con' }))).toThrow(/config\.pathIds/);
    expect(() => requirePathIds(route('/v1/things/:id', { id: 'con', extra: 'mbx' }))).toThrow(/config\.pathIds/);
    expect(() => requirePathIds(route('/v1/things/:id/parts/:partId', { partId: 'dlv', id: 'con' }))).not.toThrow();
    expect(() => requirePathIds(route('/v1/things'))).not.toThrow();
  });

  it('stops an app from starting with such a route', async () => {
    const app = Fastify();
    app.addHook('onRoute', requirePathIds);
    await expect((async () => {
      app.get('/v1/things/:id', async () => ({}));
      await app.ready();
    })()).rejects.toThrow(/config\.pathIds/);
    await app.close();
  });
});
