// ordersync bridge: deliver one EverShop event to ordersync as a signed webhook.
//
// Body:    {"event", "event_id", "data", "order": {order_id, uuid, order_number, cart_id, cart_uuid,
//           status, payment_status, shipment_status}, "shipment"?: {...}, "sent_at"}
// Headers: X-Ordersync-Event: <event>
//          X-Ordersync-Signature: sha256=<hex HMAC-SHA256(raw body, SYNC_WEBHOOK_SECRET)>
//
// EverShop runs subscribers at most once (lib/event/event-manager.js deletes the event row after
// the subscribers return, and marks rows stuck by a crash as failed), in no guaranteed order. So
// this module retries a failed delivery itself, with exponential backoff and a bounded budget
// (default 6 attempts, 5 s timeout each, about a minute at worst) so a dead receiver never holds
// the event manager forever. `event_id` is a hash of the event name and payload: the same on
// every retry, so the receiver can drop duplicates.
//
// Settings: environment first (the shop's .env), then config `ordersync_bridge.*`
// (config/local.json or config/production.json):
//   SYNC_WEBHOOK_URL           ordersync_bridge.webhookUrl     where to POST (unset: do nothing)
//   SYNC_WEBHOOK_SECRET        ordersync_bridge.webhookSecret  HMAC key (unset: sent unsigned)
//   SYNC_WEBHOOK_MAX_ATTEMPTS  ordersync_bridge.maxAttempts    default 6
//   SYNC_WEBHOOK_TIMEOUT_MS    ordersync_bridge.timeoutMs      default 5000
import crypto from 'node:crypto';
import { pool } from '@evershop/evershop/lib/postgres';
import { debug, error, warning } from '@evershop/evershop/lib/log';
import { getConfig } from '@evershop/evershop/lib/util/getConfig';

const USER_AGENT = 'ordersync-bridge/0.1.0';
const BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 8000;

const ORDER_SQL = `SELECT o.order_id, o.uuid, o.order_number, o.cart_id, c.uuid AS cart_uuid,
       o.status, o.payment_status, o.shipment_status
  FROM "order" o LEFT JOIN cart c ON c.cart_id = o.cart_id
 WHERE o.order_id = $1`;
const SHIPMENT_SQL = `SELECT shipment_id, uuid, shipment_order_id, carrier, tracking_number, status
  FROM shipment WHERE shipment_id = $1`;

function positiveInt(...values) {
  for (const value of values) {
    const number = Number.parseInt(value, 10);
    if (Number.isFinite(number) && number > 0) return number;
  }
  return undefined;
}

export function bridgeSettings() {
  const config = getConfig('ordersync_bridge', {}) || {};
  return {
    url: process.env.SYNC_WEBHOOK_URL || config.webhookUrl || '',
    secret: process.env.SYNC_WEBHOOK_SECRET || config.webhookSecret || '',
    maxAttempts: positiveInt(process.env.SYNC_WEBHOOK_MAX_ATTEMPTS, config.maxAttempts) || 6,
    timeoutMs: positiveInt(process.env.SYNC_WEBHOOK_TIMEOUT_MS, config.timeoutMs) || 5000
  };
}

// JSON with sorted keys, so the event id does not depend on key order.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

export function eventId(event, data) {
  return crypto.createHash('sha256').update(`${event}\n${canonical(data)}`).digest('hex');
}

export function signature(body, secret) {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

function dashless(uuid) {
  return uuid ? String(uuid).replace(/-/g, '').toLowerCase() : null;
}

function orderIdOf(data) {
  if (!data || typeof data !== 'object') return null;
  const id = data.orderId ?? data.order_id;
  const number = Number.parseInt(id, 10);
  return Number.isFinite(number) ? number : null;
}

// EverShop's payloads carry integer ids only: add the order's uuid, number, cart and statuses.
async function enrich(event, data) {
  const out = { order: null };
  const orderId = orderIdOf(data);
  if (orderId !== null) {
    const { rows } = await pool.query(ORDER_SQL, [orderId]);
    if (rows[0]) {
      const row = rows[0];
      out.order = {
        order_id: row.order_id,
        uuid: row.uuid,
        order_number: row.order_number,
        cart_id: row.cart_id,
        // The form POST /api/carts hands out (32 hex digits): what ordersync stored as cart id.
        cart_uuid: dashless(row.cart_uuid),
        status: row.status,
        payment_status: row.payment_status,
        shipment_status: row.shipment_status
      };
    }
  }
  const shipmentId = data && typeof data === 'object' ? data.shipmentId ?? data.shipment_id : undefined;
  if (event.startsWith('shipment_') && shipmentId !== undefined && shipmentId !== null) {
    const { rows } = await pool.query(SHIPMENT_SQL, [Number.parseInt(shipmentId, 10)]);
    if (rows[0]) {
      out.shipment = {
        shipment_id: rows[0].shipment_id,
        uuid: rows[0].uuid,
        carrier: rows[0].carrier,
        tracking_number: rows[0].tracking_number,
        status: rows[0].status
      };
    }
  }
  if (out.order === null && data && typeof data === 'object' && data.uuid && data.order_number) {
    // order_created / order_placed carry the order row itself.
    out.order = {
      order_id: data.order_id,
      uuid: data.uuid,
      order_number: data.order_number,
      cart_id: data.cart_id,
      cart_uuid: null,
      status: data.status,
      payment_status: data.payment_status,
      shipment_status: data.shipment_status
    };
  }
  return out;
}

const sleep = (ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

async function post(settings, body, headers) {
  const response = await fetch(settings.url, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(settings.timeoutMs)
  });
  // Drain the body so the connection can be reused.
  await response.arrayBuffer().catch(() => undefined);
  return response.status;
}

export async function forward(event, data, overrides = {}) {
  const settings = { ...bridgeSettings(), ...overrides };
  if (!settings.url) {
    debug(`ordersync-bridge: SYNC_WEBHOOK_URL is not set; '${event}' not forwarded`);
    return false;
  }
  let extra = { order: null };
  try {
    extra = await enrich(event, data);
  } catch (e) {
    // Still deliver: the receiver can fall back to polling for the order.
    error(e);
  }
  const payload = {
    event,
    event_id: eventId(event, data),
    data,
    ...extra,
    sent_at: new Date().toISOString()
  };
  const body = JSON.stringify(payload);
  const headers = {
    'Content-Type': 'application/json',
    'User-Agent': USER_AGENT,
    'X-Ordersync-Event': event
  };
  if (settings.secret) {
    headers['X-Ordersync-Signature'] = signature(body, settings.secret);
  } else {
    warning('ordersync-bridge: SYNC_WEBHOOK_SECRET is not set; sending an unsigned webhook');
  }
  for (let attempt = 1; attempt <= settings.maxAttempts; attempt += 1) {
    let outcome;
    try {
      const status = await post(settings, body, headers);
      if (status >= 200 && status < 300) return true;
      outcome = `HTTP ${status}`;
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        // The receiver refused this delivery (bad signature, unknown route): retrying cannot help.
        warning(`ordersync-bridge: '${event}' ${payload.event_id} refused with ${outcome}`);
        return false;
      }
    } catch (e) {
      outcome = e && e.name ? e.name : String(e);
    }
    if (attempt < settings.maxAttempts) {
      const wait = Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** (attempt - 1));
      await sleep(wait / 2 + Math.random() * (wait / 2));
    } else {
      error(
        `ordersync-bridge: gave up on '${event}' ${payload.event_id} after ${attempt} attempts (${outcome}); ` +
          'ordersync will find the change by polling'
      );
    }
  }
  return false;
}
