-- set_updated_at() belongs to common/000001 and is not dropped here.
DROP TABLE reservations;
DROP TABLE order_items;
DROP TABLE orders;
DROP TABLE menu_items;
DROP TABLE menu_categories;
DROP TABLE customers;
