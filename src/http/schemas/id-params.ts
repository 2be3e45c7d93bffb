/**
 * The path parameters of every route with an id in its path: one schema per
 * shape of path, shared by the routes. The schemas bound only the length (the
 * OpenAPI contract); what kind of id each parameter is, and so its exact
 * shape, the route declares in its config (`config: { pathIds: { id: 'con' } }`),
 * and plugins/path-ids.ts checks it before the handler runs.
 */
import { Type, type Static } from 'typebox';
import { Uid } from './messages.js';

const PathId = Type.String({ maxLength: 64 });

/** `/…/{id}` */
export const IdParams = Type.Object({ id: PathId }, { additionalProperties: false });
export type IdParamsT = Static<typeof IdParams>;

/** `/v1/webhooks/{id}/deliveries/{deliveryId}…` */
export const DeliveryParams = Type.Object({ id: PathId, deliveryId: PathId }, { additionalProperties: false });
export type DeliveryParamsT = Static<typeof DeliveryParams>;

/** `/v1/mailboxes/{id}/messages/{uid}…` */
export const MessageParams = Type.Object({ id: PathId, uid: Uid }, { additionalProperties: false });
export type MessageParamsT = Static<typeof MessageParams>;

/** `/v1/mailboxes/{id}/messages/{uid}/attachments/{attachmentId}`: an IMAP part number, checked by plugins/path-ids.ts. */
export const AttachmentParams = Type.Object({ id: PathId, uid: Uid, attachmentId: PathId }, { additionalProperties: false });
export type AttachmentParamsT = Static<typeof AttachmentParams>;
