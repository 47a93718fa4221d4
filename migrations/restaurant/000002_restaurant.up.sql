-- Restaurant domain (ChatBotDysa): customers, menu, orders, reservations.
-- Relies on set_updated_at() from common/000001_identity.

CREATE TABLE customers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL,
    phone      text,
    email      text,
    notes      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customers IS 'Restaurant customers (guests placing orders or reservations).';
CREATE TRIGGER customers_set_updated_at BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE menu_categories (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    position   integer     NOT NULL DEFAULT 0,
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE menu_categories IS 'Menu sections, ordered by position.';

CREATE TABLE menu_items (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- RESTRICT: a category must be emptied before it can be removed.
    category_id bigint      NOT NULL REFERENCES menu_categories (id) ON DELETE RESTRICT,
    name        text        NOT NULL,
    description text,
    price_cents integer     NOT NULL CHECK (price_cents >= 0),
    available   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Also serves as the index on category_id (leading column).
    UNIQUE (category_id, name)
);
COMMENT ON TABLE menu_items IS 'Dishes and drinks offered, with current price.';
CREATE TRIGGER menu_items_set_updated_at BEFORE UPDATE ON menu_items
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE orders (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SET NULL: order history survives customer deletion.
    customer_id bigint      REFERENCES customers (id) ON DELETE SET NULL,
    status      text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'preparing', 'ready', 'delivered', 'cancelled')),
    order_type  text        NOT NULL
        CHECK (order_type IN ('dine_in', 'takeaway', 'delivery')),
    total_cents bigint      NOT NULL DEFAULT 0 CHECK (total_cents >= 0),
    notes       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE orders IS 'Customer orders and their fulfilment status.';
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX orders_created_at_idx ON orders (created_at);
CREATE TRIGGER orders_set_updated_at BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE order_items (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         bigint  NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- RESTRICT: menu items that were ever ordered are retired (available=false), not deleted.
    menu_item_id     bigint  NOT NULL REFERENCES menu_items (id) ON DELETE RESTRICT,
    quantity         integer NOT NULL CHECK (quantity > 0),
    -- Price captured at order time so later menu price changes do not alter history.
    unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
    notes            text
);
COMMENT ON TABLE order_items IS 'Line items of an order, with the unit price at order time.';
CREATE INDEX order_items_order_id_idx ON order_items (order_id);
CREATE INDEX order_items_menu_item_id_idx ON order_items (menu_item_id);

CREATE TABLE reservations (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id      bigint      REFERENCES customers (id) ON DELETE SET NULL,
    -- Snapshot of the name, so the reservation stays readable without a customer row.
    customer_name    text        NOT NULL,
    party_size       integer     NOT NULL CHECK (party_size > 0),
    starts_at        timestamptz NOT NULL,
    duration_minutes integer     NOT NULL DEFAULT 90 CHECK (duration_minutes > 0),
    status           text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'seated', 'completed', 'cancelled', 'no_show')),
    notes            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE reservations IS 'Table reservations.';
CREATE INDEX reservations_customer_id_idx ON reservations (customer_id);
CREATE INDEX reservations_starts_at_idx ON reservations (starts_at);
CREATE TRIGGER reservations_set_updated_at BEFORE UPDATE ON reservations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
