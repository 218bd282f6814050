-- Secrets every gateway instance shares, made once here.
CREATE TABLE "gateway_secret" (
    "name" TEXT NOT NULL,
    "value" BYTEA NOT NULL,

    CONSTRAINT "gateway_secret_pkey" PRIMARY KEY ("name")
);

-- Signs lease tokens: 32 bytes (244 of them random) from PostgreSQL's strong random source.
INSERT INTO "gateway_secret" ("name", "value")
VALUES ('lease', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

-- A hold whose lease was used away from its connection: that connection closing no longer fails the job back.
ALTER TABLE "job_lease" ADD COLUMN "detached" BOOLEAN NOT NULL DEFAULT false;
