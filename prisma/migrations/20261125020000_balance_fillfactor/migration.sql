-- Every batch updates the balance of each customer it touches, so a balance row gets a new
-- version per batch. At the default fillfactor (100) the pages were full: a third of the updates
-- could not stay on their page (HOT) and also wrote the primary key index, and the table grew to
-- 13 times its live size during a one-million-row backlog. Room on every page keeps the updates
-- on their page, and the table is small (one row per customer), so the space is cheap.
ALTER TABLE "balance" SET (fillfactor = 20);
-- Pages written before this migration keep their old fill until the table is rewritten
-- (VACUUM FULL balance, in a quiet moment), while new and updated rows use the room at once.
