-- Chains: branches (locations), orders and reservations per branch, menu
-- availability per branch, and the outbound customer messages log.

CREATE TABLE branches (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text        NOT NULL UNIQUE,
    address        text        NOT NULL DEFAULT '',
    phone          text,
    -- NULL: the tenant's time zone.
    time_zone      text,
    -- Reservations: at most seats_per_slot guests in any slot of slot_minutes.
    seats_per_slot integer     NOT NULL DEFAULT 40 CHECK (seats_per_slot > 0),
    slot_minutes   integer     NOT NULL DEFAULT 30 CHECK (slot_minutes BETWEEN 5 AND 240),
    active         boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE branches IS 'Locations of the restaurant (a chain has several).';
CREATE TRIGGER branches_set_updated_at BEFORE UPDATE ON branches
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Every tenant starts with one branch: its existing orders and reservations
-- belong to it.
INSERT INTO branches (name) VALUES ('Casa matriz');

-- RESTRICT: a branch with orders or reservations is deactivated, not deleted.
ALTER TABLE orders ADD COLUMN branch_id bigint REFERENCES branches (id) ON DELETE RESTRICT;
UPDATE orders SET branch_id = (SELECT min(id) FROM branches);
ALTER TABLE orders ALTER COLUMN branch_id SET NOT NULL;
CREATE INDEX orders_branch_id_idx ON orders (branch_id);

ALTER TABLE reservations ADD COLUMN branch_id bigint REFERENCES branches (id) ON DELETE RESTRICT;
UPDATE reservations SET branch_id = (SELECT min(id) FROM branches);
ALTER TABLE reservations ALTER COLUMN branch_id SET NOT NULL;
-- The capacity check reads a branch's reservations by time.
CREATE INDEX reservations_branch_starts_at_idx ON reservations (branch_id, starts_at);

CREATE TABLE menu_item_branches (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    menu_item_id bigint  NOT NULL REFERENCES menu_items (id) ON DELETE CASCADE,
    branch_id    bigint  NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    -- Overrides menu_items.available at this branch.
    available    boolean NOT NULL,
    UNIQUE (menu_item_id, branch_id)
);
COMMENT ON TABLE menu_item_branches IS 'Per-branch availability of menu items (none: the item''s own).';
CREATE INDEX menu_item_branches_branch_id_idx ON menu_item_branches (branch_id);

CREATE TABLE customer_messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SET NULL: the log outlives branches, customers, orders and users.
    branch_id    bigint      REFERENCES branches (id) ON DELETE SET NULL,
    customer_id  bigint      REFERENCES customers (id) ON DELETE SET NULL,
    order_id     bigint      REFERENCES orders (id) ON DELETE SET NULL,
    channel      text        NOT NULL CHECK (channel IN ('sms', 'email', 'whatsapp')),
    purpose      text        NOT NULL
        CHECK (purpose IN ('verification', 'order_update', 'reservation', 'marketing', 'other')),
    recipient    text        NOT NULL,
    body         text        NOT NULL DEFAULT '',
    status       text        NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sent', 'delivered', 'failed')),
    provider_ref text,
    error        text,
    sent_by      bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customer_messages IS 'Outbound messages to customers (SMS verification codes, order updates…): what a messaging integration writes.';
CREATE INDEX customer_messages_branch_id_idx ON customer_messages (branch_id);
CREATE INDEX customer_messages_customer_id_idx ON customer_messages (customer_id);
CREATE INDEX customer_messages_order_id_idx ON customer_messages (order_id);
CREATE INDEX customer_messages_sent_by_idx ON customer_messages (sent_by);
CREATE INDEX customer_messages_created_at_idx ON customer_messages (created_at);
CREATE TRIGGER customer_messages_set_updated_at BEFORE UPDATE ON customer_messages
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
