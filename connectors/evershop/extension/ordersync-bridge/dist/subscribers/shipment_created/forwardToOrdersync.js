// ordersync bridge: forward EverShop's 'shipment_created' event to SYNC_WEBHOOK_URL (see ../../services/forward.js).
import { forward } from '../../services/forward.js';

export default async function forwardToOrdersync(data) {
  await forward('shipment_created', data);
}
