// Keyed by customer: keeps each customer's running order total (new orders add their amount,
// cancellations take it away) and emits one fact per order change, with the customer's name and
// city as they were when the order was placed (joined upstream, as of the order's time).
import type { Transform } from 'eddy';

interface OrderChange {
  OrderID: number;
  CustomerID: number;
  Amount: number;
  Status: string;
  PlacedAt: string;
  op: 'c' | 'u' | 'd' | 'r';
  change: number;
  customer: { Name: string; City: string } | null;
}

const transform: Transform = (event, ctx) => {
  const order = event.value as unknown as OrderChange;
  const total = Math.round(((ctx.state.get<number>('total') ?? 0) + order.change) * 100) / 100;
  const openOrders = (ctx.state.get<number>('orders') ?? 0) + (order.op === 'c' ? 1 : order.op === 'd' ? -1 : 0);
  ctx.state.put('total', total);
  ctx.state.put('orders', openOrders);
  return {
    key: order.OrderID,
    value: {
      orderId: order.OrderID,
      customerId: order.CustomerID,
      op: order.op,
      status: order.Status,
      amount: order.Amount,
      change: order.change,
      runningTotal: total,
      openOrders,
      customerName: order.customer?.Name ?? null,
      city: order.customer?.City ?? null,
      placedAt: order.PlacedAt,
    },
  };
};

export default transform;
