-- 0006: the data reports use for an order. New versions change it only
-- within the counter's update window from the order's creation (SPEC.md §3).
ALTER TABLE orders ADD COLUMN rep_status_type VARCHAR;
ALTER TABLE orders ADD COLUMN rep_revenue DECIMAL(18,4);
ALTER TABLE orders ADD COLUMN rep_cost DECIMAL(18,4);
