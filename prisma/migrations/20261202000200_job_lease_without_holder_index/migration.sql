-- Every hot lookup names job ids (the primary key); the holder index only cost
-- an entry per hold written and removed, and led the planner to scan a
-- holder's entries, dead ones included, when it looked up a few ids.
DROP INDEX "job_lease_holder_idx";
