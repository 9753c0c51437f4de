-- The link from each ledger row to its customer, checked once per statement instead of once per row.
--
-- A foreign key checks each new ledger row with its own query, and that query locks the
-- customer row (FOR KEY SHARE): one more heap write and WAL record per customer per batch.
-- Measured with the batch statement on 2,000-row batches (2026-11-29, 2-core AMD): 30.4-32.5 µs
-- of Postgres time per ledger row with the foreign key, 21.9-22.1 µs with these triggers (README,
-- Performance): that foreign key was the largest single cost of a posted transaction. The same rule, "no ledger row without its customer", is kept here
-- for every writer, as two triggers:
--   * after each INSERT or UPDATE statement on the ledger: one index probe of customer per new
--     row of the statement fails the statement when a customer is missing,
--   * a customer that ledger rows refer to cannot be deleted, re-keyed or truncated away.
-- The errors are those of the foreign key (SQLSTATE 23503, constraint transaction_custid_fkey), so
-- clients, and the fallback of the batch writer to parking, see no difference.
--
-- Without the row lock a customer could be deleted while a ledger row for it is being written.
-- The customer-side trigger closes that by taking a SHARE lock on the ledger before it looks,
-- which waits for every ledger write in flight and holds off new ones until the delete commits
-- (and the check of the ledger statement then no longer sees the customer). Only the owner may
-- delete customers at all (src/db/roles.ts), so this lock is never taken in normal operation.
-- The customer-side check reads with a fresh snapshot after the lock, as READ COMMITTED (the
-- default, used by every writer here) gives each statement of the function.

ALTER TABLE "transaction" DROP CONSTRAINT "transaction_custid_fkey";

CREATE FUNCTION "transaction_custid_exists"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  missing BIGINT;
BEGIN
  -- One index probe per new row, by construction (LIMIT keeps the lateral subquery a nested
  -- loop): as a plain anti-join the planner hashed the whole customer table for every statement,
  -- 4 ms for a 50-row batch with 10,000 customers, and worse as customers grow.
  SELECT n.custid INTO missing
    FROM new_ledger_rows n
    LEFT JOIN LATERAL (SELECT true AS found FROM customer c WHERE c.custid = n.custid LIMIT 1) c ON true
   WHERE c.found IS NULL
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'insert or update on table "transaction" violates foreign key constraint "transaction_custid_fkey"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'transaction_custid_fkey', TABLE = 'transaction',
            DETAIL = format('Key (custid)=(%s) is not present in table "customer".', missing);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "transaction_custid_exists_on_insert"
  AFTER INSERT ON "transaction" REFERENCING NEW TABLE AS new_ledger_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "transaction_custid_exists"();

CREATE TRIGGER "transaction_custid_exists_on_update"
  AFTER UPDATE ON "transaction" REFERENCING NEW TABLE AS new_ledger_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "transaction_custid_exists"();

CREATE FUNCTION "customer_keep_if_referenced"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.custid = OLD.custid THEN
    RETURN NEW;
  END IF;
  LOCK TABLE "transaction" IN SHARE MODE;
  IF TG_OP = 'TRUNCATE' THEN
    IF EXISTS (SELECT 1 FROM "transaction") THEN
      RAISE EXCEPTION 'cannot truncate table "customer": table "transaction" refers to it'
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'transaction_custid_fkey', TABLE = 'customer';
    END IF;
    RETURN NULL;
  END IF;
  IF EXISTS (SELECT 1 FROM "transaction" WHERE custid = OLD.custid) THEN
    RAISE EXCEPTION 'update or delete on table "customer" violates foreign key constraint "transaction_custid_fkey" on table "transaction"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'transaction_custid_fkey', TABLE = 'customer',
            DETAIL = format('Key (custid)=(%s) is still referenced from table "transaction".', OLD.custid);
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER "customer_keep_if_referenced"
  BEFORE DELETE OR UPDATE OF custid ON customer
  FOR EACH ROW EXECUTE FUNCTION "customer_keep_if_referenced"();

CREATE TRIGGER "customer_keep_if_referenced_on_truncate"
  BEFORE TRUNCATE ON customer
  FOR EACH STATEMENT EXECUTE FUNCTION "customer_keep_if_referenced"();
