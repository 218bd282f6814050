-- AlterTable
ALTER TABLE "tenant" ADD COLUMN     "max_connections" INTEGER,
ADD COLUMN     "max_subscriptions" INTEGER,
ADD COLUMN     "operations_per_second" INTEGER;
