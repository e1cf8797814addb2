// Paid orders from the shop's CDC stream, enriched with the customer's tier as it was when the
// order was paid, and a running count of paid orders per customer (keyed state).
import type { Transform } from 'eddy';

const paidOrders: Transform<'sqlserver:shop.dbo.Orders'> = (event, ctx) => {
  const order = event.after;
  // Deletes have no after image; emit an order once, when it becomes paid.
  if (!order || order.Status !== 'paid' || event.before?.Status === 'paid') return null;

  const customer = ctx.lookup<{ Tier: string }>('sqlserver:shop.dbo.Customers', { CustomerID: order.CustomerID });
  const counter = `paid-orders:${order.CustomerID}`;
  const count = (ctx.state.get<number>(counter) ?? 0) + 1;
  ctx.state.put(counter, count);

  return {
    key: { OrderID: order.OrderID },
    value: {
      orderId: order.OrderID,
      customerId: order.CustomerID,
      tier: customer?.Tier ?? 'unknown',
      sku: order.Sku,
      quantity: order.Quantity,
      total: order.Amount,
      paidOrdersForCustomer: count,
      paidAt: new Date(event.eventTime).toISOString(),
    },
  };
};

export default paidOrders;
