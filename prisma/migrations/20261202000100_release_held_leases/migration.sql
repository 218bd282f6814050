-- Ends the holds a settlement expects its caller to have, all or none: when
-- any of them is gone or belongs to someone else, it raises SQLSTATE JG409 and
-- the settlement's transaction is rolled back (the caller then takes the
-- general path, which sorts the ids one by one).
CREATE FUNCTION release_held_leases(p_queue text, p_holder text, p_ids uuid[], p_retry_counts int[])
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  released int;
BEGIN
  DELETE FROM job_lease
   WHERE job_id = ANY(p_ids) AND queue = p_queue AND holder = p_holder
     AND retry_count = p_retry_counts[array_position(p_ids, job_id)];
  GET DIAGNOSTICS released = ROW_COUNT;
  IF released <> cardinality(p_ids) THEN
    RAISE EXCEPTION 'leases changed hands' USING ERRCODE = 'JG409';
  END IF;
END
$fn$;
