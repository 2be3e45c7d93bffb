/** The webhook errors a client can see; what they mean (status, retry) is in errors/classify.ts. */
import { AppError } from '../../errors/errors.js';

/** Not an http(s) URL the service can deliver to: wrong scheme, credentials, unresolvable host… */
export class WebhookUrlError extends AppError {
  constructor(detail: string, hint?: string) {
    super('webhook_url_invalid', detail, { hint, fields: { errors: [{ field: '/url', message: detail }] } });
  }
}

/** The URL's host is, or resolves to, an address the SSRF guard refuses. */
export class WebhookTargetForbiddenError extends AppError {
  readonly address: string;
  /** A cloud platform endpoint (metadata, credentials, Azure WireServer): refused even with private networks allowed. */
  constructor(host: string, address: string, reason: string, platform = false) {
    const detail = host === address
      ? `The webhook URL targets ${address}, a ${reason} address.`
      : `The webhook URL's host ${host} resolves to ${address}, a ${reason} address.`;
    super('webhook_target_forbidden', detail, {
      hint: platform
        ? 'Cloud platform endpoints (instance metadata, credentials, Azure WireServer) are refused even with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true. ' +
          'To deliver to this address anyway, name it in WEBHOOK_ALLOWED_ADDRESSES.'
        : 'Webhooks go to public addresses only. To deliver inside your own network, set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, ' +
          'or name the receiver\'s address in WEBHOOK_ALLOWED_ADDRESSES.',
      fields: { errors: [{ field: '/url', message: detail }] },
    });
    this.address = address;
  }
}

/** A retry asked for while the delivery is still being attempted. */
export class DeliveryPendingError extends AppError {
  constructor(deliveryId: string) {
    super('delivery_pending', `Delivery ${deliveryId} is still pending: it is retried automatically.`, {
      hint: 'Only a delivered or failed delivery can be sent again.',
    });
  }
}
