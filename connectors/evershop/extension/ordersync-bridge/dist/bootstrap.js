// ordersync bridge: bootstrap (run by EverShop in the web, event and cron processes).
//
// Adds two filters to the admin GraphQL `orders(filters: ...)` collection, which EverShop 2.2.1
// cannot filter by id otherwise (modules/oms/services/registerDefaultOrderCollectionFilters.js):
//
//   order_id  eq | gt | gteq | lt | lteq  <integer>   incremental reads by id (with od=asc)
//   cart_id   eq  <numeric cart id | cart uuid, with or without dashes>
//                                                    the order placed from a cart (recovery of a
//                                                    create whose answer was lost)
//
// Each operation is its own filter entry, because OrderCollection applies only the first filter
// matching a registered entry: `order_id gt 5` and `order_id lteq 9` then both apply. An invalid
// value matches no order (never "all orders"). Applied filters appear in `currentFilters`, which is
// how ordersync detects that this extension is installed.
import { addProcessor } from '@evershop/evershop/lib/util/registry';
import { OPERATION_MAP } from '@evershop/evershop/lib/util/filterOperationMap';

const INTEGER = /^\d{1,18}$/;
const HEX32 = /^[0-9a-f]{32}$/;

function normalizeUuid(value) {
  const hex = String(value).trim().toLowerCase().replace(/-/g, '');
  if (!HEX32.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function matchNothing(query) {
  query.andWhere('order.order_id', '<', 0);
}

function orderIdFilter(operation) {
  return {
    key: 'order_id',
    operation: [operation],
    callback: (query, op, value, currentFilters) => {
      const text = String(value ?? '').trim();
      if (INTEGER.test(text)) {
        query.andWhere('order.order_id', OPERATION_MAP[op], Number.parseInt(text, 10));
      } else {
        matchNothing(query);
      }
      currentFilters.push({ key: 'order_id', operation: op, value: text });
    }
  };
}

const cartIdFilter = {
  key: 'cart_id',
  operation: ['eq'],
  callback: (query, op, value, currentFilters) => {
    const text = String(value ?? '').trim();
    if (INTEGER.test(text)) {
      query.andWhere('order.cart_id', '=', Number.parseInt(text, 10));
    } else {
      const uuid = normalizeUuid(text);
      if (uuid) {
        // The uuid is validated above (32 hex digits), so inlining it is safe.
        query.andWhere('order.cart_id', 'IN', {
          isSQL: true,
          value: `(SELECT cart.cart_id FROM cart WHERE cart.uuid = '${uuid}'::uuid)`
        });
      } else {
        matchNothing(query);
      }
    }
    currentFilters.push({ key: 'cart_id', operation: op, value: text });
  }
};

export default function ordersyncBridgeBootstrap() {
  addProcessor('configurationSchema', (schema) => {
    schema.properties = schema.properties || {};
    schema.properties.ordersync_bridge = {
      type: 'object',
      properties: {
        webhookUrl: { type: 'string' },
        webhookSecret: { type: 'string' },
        maxAttempts: { type: 'integer', minimum: 1 },
        timeoutMs: { type: 'integer', minimum: 100 }
      },
      additionalProperties: false
    };
    return schema;
  });
  addProcessor('orderCollectionFilters', (filters) => [
    ...filters,
    ...['eq', 'gt', 'gteq', 'lt', 'lteq'].map(orderIdFilter),
    cartIdFilter
  ]);
}
