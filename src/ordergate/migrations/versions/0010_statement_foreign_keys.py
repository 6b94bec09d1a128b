"""PostgreSQL: the foreign keys of the busiest tables checked once per statement

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 23:55:00

A foreign key constraint checks every inserted row on its own: a trigger per row, and for each
a query with its own executor start-up and a row lock on the referenced row. An imported or
submitted order inserts 8 such rows (the order and its event, which reference the
organisation; 3 items, 2 tags and a history entry, which reference the order), and the
checks were 40% of PostgreSQL's CPU per imported order.

On PostgreSQL these five foreign keys (``db.CHECKED_PER_STATEMENT``) become statement-level
triggers with transition tables: one anti-join per INSERT or COPY checks all its rows, and
the referenced side refuses, at the end of each DELETE, to delete a row that is still
referenced. Keys never change: updating one is refused. What they enforce is what the
constraints enforced, with one difference: the referenced row is not locked, so a DELETE of
an order racing an INSERT of its items could leave the items behind. ordergate never deletes
orders or organisations. SQLite keeps its constraints (it checks them cheaply, in process).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The referencing tables of the five foreign keys, by the table they reference.
ORDER_CHILDREN = ("order_items", "order_tags", "order_history")
ORGANISATION_CHILDREN = ("orders", "events")


def _fk(child: str, parent: str) -> str:
    return f"fk_{child}_organisation_id_{parent}"


FUNCTIONS = r"""
CREATE FUNCTION og_order_exists() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    missing record;
BEGIN
    SELECT n.organisation_id, n.order_id INTO missing
      FROM new_rows AS n
     WHERE NOT EXISTS (SELECT FROM orders AS o
                        WHERE o.organisation_id = n.organisation_id AND o.id = n.order_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
              TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0], TABLE = TG_TABLE_NAME,
              DETAIL = format(
                  'Key (organisation_id, order_id)=(%s, %s) is not present in table "orders".',
                  missing.organisation_id, missing.order_id);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION og_organisation_exists() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    missing record;
BEGIN
    SELECT n.organisation_id INTO missing
      FROM new_rows AS n
     WHERE NOT EXISTS (SELECT FROM organisations AS g WHERE g.id = n.organisation_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
              TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0], TABLE = TG_TABLE_NAME,
              DETAIL = format('Key (organisation_id)=(%s) is not present in table "organisations".',
                              missing.organisation_id);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION og_order_unreferenced() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    kept record;
BEGIN
    SELECT d.organisation_id, d.id, c.child INTO kept
      FROM old_rows AS d
     CROSS JOIN LATERAL (
           SELECT 'order_items' WHERE EXISTS (SELECT FROM order_items AS i
                  WHERE i.organisation_id = d.organisation_id AND i.order_id = d.id)
           UNION ALL
           SELECT 'order_tags' WHERE EXISTS (SELECT FROM order_tags AS t
                  WHERE t.organisation_id = d.organisation_id AND t.order_id = d.id)
           UNION ALL
           SELECT 'order_history' WHERE EXISTS (SELECT FROM order_history AS h
                  WHERE h.organisation_id = d.organisation_id AND h.order_id = d.id)
     ) AS c(child)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION
              'update or delete on table "orders" violates foreign key constraint "%" on table "%"',
              'fk_' || kept.child || '_organisation_id_orders', kept.child
        USING ERRCODE = 'foreign_key_violation', TABLE = kept.child,
              CONSTRAINT = 'fk_' || kept.child || '_organisation_id_orders',
              DETAIL = format(
                  'Key (organisation_id, id)=(%s, %s) is still referenced from table "%s".',
                  kept.organisation_id, kept.id, kept.child);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION og_organisation_unreferenced() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    kept record;
BEGIN
    SELECT d.id, c.child INTO kept
      FROM old_rows AS d
     CROSS JOIN LATERAL (
           SELECT 'orders' WHERE EXISTS (SELECT FROM orders AS o WHERE o.organisation_id = d.id)
           UNION ALL
           SELECT 'events' WHERE EXISTS (SELECT FROM events AS e WHERE e.organisation_id = d.id)
     ) AS c(child)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION
              'update or delete on table "organisations" violates foreign key constraint "%" '
              'on table "%"', 'fk_' || kept.child || '_organisation_id_organisations', kept.child
        USING ERRCODE = 'foreign_key_violation', TABLE = kept.child,
              CONSTRAINT = 'fk_' || kept.child || '_organisation_id_organisations',
              DETAIL = format(
                  'Key (id)=(%s) is still referenced from table "%s".', kept.id, kept.child);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION og_keys_fixed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'the key of a row of table "%" never changes (foreign key constraint "%")',
          TG_TABLE_NAME, TG_ARGV[0]
    USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0], TABLE = TG_TABLE_NAME;
END
$fn$;
"""


def _statements() -> list[str]:
    out = []
    for child in ORDER_CHILDREN:
        fk = _fk(child, "orders")
        out += [
            f"ALTER TABLE {child} DROP CONSTRAINT {fk}",
            f"CREATE TRIGGER {fk} AFTER INSERT ON {child} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION og_order_exists('{fk}')",
            f"CREATE TRIGGER {fk}_keys BEFORE UPDATE OF organisation_id, order_id ON {child} "
            "FOR EACH ROW WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id "
            "OR OLD.order_id IS DISTINCT FROM NEW.order_id) "
            f"EXECUTE FUNCTION og_keys_fixed('{fk}')",
        ]
    for child in ORGANISATION_CHILDREN:
        fk = _fk(child, "organisations")
        out += [
            f"ALTER TABLE {child} DROP CONSTRAINT {fk}",
            f"CREATE TRIGGER {fk} AFTER INSERT ON {child} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION og_organisation_exists('{fk}')",
            f"CREATE TRIGGER {fk}_keys BEFORE UPDATE OF organisation_id ON {child} "
            "FOR EACH ROW WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id) "
            f"EXECUTE FUNCTION og_keys_fixed('{fk}')",
        ]
    out += [
        "CREATE TRIGGER og_orders_referenced AFTER DELETE ON orders REFERENCING OLD TABLE AS "
        "old_rows FOR EACH STATEMENT EXECUTE FUNCTION og_order_unreferenced()",
        "CREATE TRIGGER og_orders_keys BEFORE UPDATE OF organisation_id, id ON orders "
        "FOR EACH ROW WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id "
        "OR OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION og_keys_fixed('pk_orders')",
        "CREATE TRIGGER og_organisations_referenced AFTER DELETE ON organisations REFERENCING "
        "OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION og_organisation_unreferenced()",
        "CREATE TRIGGER og_organisations_keys BEFORE UPDATE OF id ON organisations "
        "FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) "
        "EXECUTE FUNCTION og_keys_fixed('pk_organisations')",
    ]
    return out


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    # one statement each: asyncpg prepares what it executes
    for function in FUNCTIONS.split("\n$fn$;\n")[:-1]:
        op.execute(function + "\n$fn$")
    for statement in _statements():
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER og_organisations_keys ON organisations")
    op.execute("DROP TRIGGER og_organisations_referenced ON organisations")
    op.execute("DROP TRIGGER og_orders_keys ON orders")
    op.execute("DROP TRIGGER og_orders_referenced ON orders")
    for children, parent, key in (
        (ORDER_CHILDREN, "orders", "order_id"),
        (ORGANISATION_CHILDREN, "organisations", None),
    ):
        for child in children:
            fk = _fk(child, parent)
            op.execute(f"DROP TRIGGER {fk}_keys ON {child}")
            op.execute(f"DROP TRIGGER {fk} ON {child}")
            if key is None:
                op.create_foreign_key(fk, child, parent, ["organisation_id"], ["id"])
            else:
                op.create_foreign_key(
                    fk, child, parent, ["organisation_id", key], ["organisation_id", "id"]
                )
    for function in (
        "og_keys_fixed",
        "og_organisation_unreferenced",
        "og_order_unreferenced",
        "og_organisation_exists",
        "og_order_exists",
    ):
        op.execute(f"DROP FUNCTION {function}()")
