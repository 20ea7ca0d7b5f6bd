// ordersync bridge: forward EverShop's 'order_placed' event to SYNC_WEBHOOK_URL (see ../../services/forward.js).
import { forward } from '../../services/forward.js';

export default async function forwardToOrdersync(data) {
  await forward('order_placed', data);
}
