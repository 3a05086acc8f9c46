-- AlterEnum
ALTER TYPE "NodeStatus" ADD VALUE 'PENDING';

-- AlterTable
ALTER TABLE "CreditHold" ADD COLUMN     "workflowId" TEXT;

-- CreateIndex
CREATE INDEX "CreditHold_status_createdAt_idx" ON "CreditHold"("status", "createdAt");
