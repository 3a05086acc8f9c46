/*
  Warnings:

  - The values [MATCHED,EXECUTED,VERIFIED,REJECTED] on the enum `RequestStatus` will be removed. No code writes
    them; a row that holds one (from an older build) first takes the status the code writes for that stage.

*/
-- AlterEnum
BEGIN;
UPDATE "InferenceRequest" SET "status" = 'ADMITTED' WHERE "status" = 'MATCHED';
UPDATE "InferenceRequest" SET "status" = 'DISPATCHED' WHERE "status" IN ('EXECUTED', 'VERIFIED');
UPDATE "InferenceRequest" SET "status" = 'FAILED' WHERE "status" = 'REJECTED';
CREATE TYPE "RequestStatus_new" AS ENUM ('ADMITTED', 'DISPATCHED', 'SAMPLED', 'ANCHORED', 'RETURNED', 'SETTLED', 'FAILED');
ALTER TABLE "public"."InferenceRequest" ALTER COLUMN "status" DROP DEFAULT;
ALTER TABLE "InferenceRequest" ALTER COLUMN "status" TYPE "RequestStatus_new" USING ("status"::text::"RequestStatus_new");
ALTER TYPE "RequestStatus" RENAME TO "RequestStatus_old";
ALTER TYPE "RequestStatus_new" RENAME TO "RequestStatus";
DROP TYPE "public"."RequestStatus_old";
ALTER TABLE "InferenceRequest" ALTER COLUMN "status" SET DEFAULT 'ADMITTED';
COMMIT;
