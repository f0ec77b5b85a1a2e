-- Raised by the one-statement point insert that runs outside a transaction (apps/server
-- modules/metrics/metrics.repo.ts) when a batch held points that were already stored: the error undoes
-- the whole statement, and the server retries the batch inside a transaction, where the summaries of
-- just the new points can be upserted by a second statement. SQLSTATE SHPB1 tells it apart.
CREATE FUNCTION swanhouse_partial_batch() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION 'partial batch: some points already exist' USING ERRCODE = 'SHPB1';
END
$$;
