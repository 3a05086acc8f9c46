-- CreateEnum
CREATE TYPE "SampleMode" AS ENUM ('NONE', 'EXACT', 'TOLERANT');

-- CreateEnum
CREATE TYPE "RewardKind" AS ENUM ('EXECUTION', 'VERIFICATION');

-- AlterTable
ALTER TABLE "ExecutionRecord" ADD COLUMN     "checkScore" JSONB,
ADD COLUMN     "disputeScore" JSONB,
ADD COLUMN     "mode" "SampleMode" NOT NULL DEFAULT 'NONE',
ADD COLUMN     "nodeDevice" TEXT,
ADD COLUMN     "sampledNodeDevice" TEXT,
ADD COLUMN     "signature" TEXT;

-- AlterTable
ALTER TABLE "RewardLedgerEntry" ADD COLUMN     "kind" "RewardKind" NOT NULL DEFAULT 'EXECUTION';
