/**
 * The sandbox's webhook endpoint; the code lives in ./webhook-receiver/.
 * Importing this module starts nothing: call startWebhookReceiver().
 */
export { startWebhookReceiver } from './webhook-receiver/server.js';
export type {
  ReceivedDelivery,
  StartWebhookReceiverOptions,
  WebhookReceiver,
  WebhookReceiverBehaviour,
} from './webhook-receiver/server.js';
export { verifyDelivery } from './webhook-receiver/verify.js';
