-- The shop's data as the support agents see it. Dates are ISO 'YYYY-MM-DD' text.
CREATE TABLE customers (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    phone   TEXT NOT NULL UNIQUE,          -- E.164, e.g. +14155550142
    email   TEXT NOT NULL,
    tier    TEXT NOT NULL CHECK (tier IN ('standard', 'gold'))
);

CREATE TABLE products (
    sku          TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    category     TEXT NOT NULL
                 CHECK (category IN ('electronics', 'apparel', 'home', 'personal_care', 'gift_card')),
    price_cents  INTEGER NOT NULL CHECK (price_cents >= 0),
    stock        INTEGER NOT NULL CHECK (stock >= 0),
    final_sale   INTEGER NOT NULL DEFAULT 0 CHECK (final_sale IN (0, 1))
);

CREATE TABLE orders (
    number        TEXT PRIMARY KEY,             -- what the caller reads out, e.g. A1001
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    placed_on     TEXT NOT NULL,
    delivered_on  TEXT,                          -- NULL while in transit
    status        TEXT NOT NULL CHECK (status IN ('processing', 'shipped', 'delivered', 'cancelled'))
);

CREATE TABLE order_items (
    id                INTEGER PRIMARY KEY,
    order_number      TEXT NOT NULL REFERENCES orders (number),
    sku               TEXT NOT NULL REFERENCES products (sku),
    quantity          INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents  INTEGER NOT NULL CHECK (unit_price_cents >= 0),
    returned_quantity INTEGER NOT NULL DEFAULT 0,
    UNIQUE (order_number, sku),
    CHECK (returned_quantity BETWEEN 0 AND quantity)
);

CREATE TABLE returns (
    rma            TEXT PRIMARY KEY,
    order_item_id  INTEGER NOT NULL REFERENCES order_items (id),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    condition      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    refund_cents   INTEGER NOT NULL,
    created_on     TEXT NOT NULL
);

CREATE TABLE offers (
    code         TEXT PRIMARY KEY,
    description  TEXT NOT NULL,
    category     TEXT,                           -- NULL: any category
    percent_off  INTEGER NOT NULL CHECK (percent_off BETWEEN 1 AND 90),
    gold_only    INTEGER NOT NULL DEFAULT 0 CHECK (gold_only IN (0, 1)),
    valid_until  TEXT NOT NULL
);

CREATE TABLE cart_items (
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    sku          TEXT NOT NULL REFERENCES products (sku),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    offer_code   TEXT REFERENCES offers (code),
    PRIMARY KEY (customer_id, sku)
);
