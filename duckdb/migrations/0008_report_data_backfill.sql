-- 0008: orders stored before 0006 get their report data: the order as it
-- stands, as a new upload of it would give.
UPDATE orders SET rep_status_type = status_type, rep_revenue = revenue, rep_cost = cost
WHERE rep_status_type IS NULL;
