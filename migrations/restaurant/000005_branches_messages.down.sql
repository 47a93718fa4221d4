DROP TABLE customer_messages;
DROP TABLE menu_item_branches;
ALTER TABLE reservations DROP COLUMN branch_id;
ALTER TABLE orders DROP COLUMN branch_id;
DROP TABLE branches;
