// Turns order change events (Debezium envelopes) into one flat record per change: the order row
// (after the change, or before it for a delete), what happened, and how the order's amount moved.
import type { Transform, JsonObject } from 'eddy';

interface Order extends JsonObject {
  OrderID: number;
  CustomerID: number;
  Amount: number;
  Status: string;
}

const transform: Transform<'sqlserver:shop.dbo.Orders'> = (event) => {
  const before = (event.before ?? null) as Order | null;
  const after = (event.after ?? null) as Order | null;
  const order = after ?? before;
  if (!order) return null;
  return {
    key: order.OrderID,
    value: { ...order, Status: after ? after.Status : 'cancelled', op: event.op, change: (after?.Amount ?? 0) - (before?.Amount ?? 0) },
  };
};

export default transform;
