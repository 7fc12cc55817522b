-- Nothing reads order lines by SKU (analyses scan them), and the index cost
-- every checkout one random page per line.
DROP INDEX order_lines_sku;
