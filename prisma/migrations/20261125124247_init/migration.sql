-- CreateEnum
CREATE TYPE "LedgerEntryKind" AS ENUM ('TOPUP', 'HOLD', 'CAPTURE', 'RELEASE');

-- CreateEnum
CREATE TYPE "HoldStatus" AS ENUM ('HELD', 'CAPTURED', 'RELEASED');

-- CreateEnum
CREATE TYPE "NodeStatus" AS ENUM ('ACTIVE', 'OFFLINE', 'SUSPENDED', 'RETIRED');

-- CreateEnum
CREATE TYPE "RequestStatus" AS ENUM ('ADMITTED', 'MATCHED', 'DISPATCHED', 'EXECUTED', 'VERIFIED', 'SAMPLED', 'ANCHORED', 'RETURNED', 'SETTLED', 'REJECTED', 'FAILED');

-- CreateEnum
CREATE TYPE "Verdict" AS ENUM ('UNSAMPLED', 'AGREED', 'DISAGREED');

-- CreateTable
CREATE TABLE "User" (
    "id" UUID NOT NULL,
    "externalId" TEXT NOT NULL,
    "balance" BIGINT NOT NULL DEFAULT 0,
    "held" BIGINT NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CreditLedgerEntry" (
    "id" BIGSERIAL NOT NULL,
    "userId" UUID NOT NULL,
    "kind" "LedgerEntryKind" NOT NULL,
    "amount" BIGINT NOT NULL,
    "requestId" TEXT,
    "idempotencyKey" TEXT NOT NULL,
    "balanceAfter" BIGINT NOT NULL,
    "heldAfter" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CreditLedgerEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CreditHold" (
    "id" UUID NOT NULL,
    "requestId" TEXT NOT NULL,
    "userId" UUID NOT NULL,
    "amount" BIGINT NOT NULL,
    "status" "HoldStatus" NOT NULL DEFAULT 'HELD',
    "capturedAmount" BIGINT NOT NULL DEFAULT 0,
    "releasedAmount" BIGINT NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "settledAt" TIMESTAMP(3),

    CONSTRAINT "CreditHold_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Node" (
    "id" UUID NOT NULL,
    "nodeId" TEXT NOT NULL,
    "signPublicKey" TEXT NOT NULL,
    "boxPublicKey" TEXT NOT NULL,
    "capabilities" JSONB NOT NULL,
    "status" "NodeStatus" NOT NULL DEFAULT 'ACTIVE',
    "reputation" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "penaltyCount" INTEGER NOT NULL DEFAULT 0,
    "registeredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastAnnouncedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NodePenalty" (
    "id" BIGSERIAL NOT NULL,
    "nodeId" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "amount" BIGINT NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NodePenalty_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "HealthSample" (
    "id" BIGSERIAL NOT NULL,
    "nodeId" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "up" BOOLEAN NOT NULL,
    "latencyMs" INTEGER,

    CONSTRAINT "HealthSample_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InferenceRequest" (
    "id" UUID NOT NULL,
    "requestId" TEXT NOT NULL,
    "workflowId" TEXT NOT NULL,
    "userId" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "status" "RequestStatus" NOT NULL DEFAULT 'ADMITTED',
    "step" INTEGER NOT NULL DEFAULT 2,
    "nodeId" TEXT,
    "sampledNodeId" TEXT,
    "verdict" "Verdict",
    "maxCost" BIGINT NOT NULL,
    "actualCost" BIGINT,
    "tokensIn" INTEGER,
    "tokensOut" INTEGER,
    "failureReason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "dispatchedAt" TIMESTAMP(3),
    "completedAt" TIMESTAMP(3),
    "settledAt" TIMESTAMP(3),

    CONSTRAINT "InferenceRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExecutionRecord" (
    "id" UUID NOT NULL,
    "requestId" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "poe" TEXT NOT NULL,
    "verdict" "Verdict" NOT NULL,
    "sampledNodeId" TEXT,
    "anchorTxHash" TEXT,
    "blockNumber" BIGINT,
    "anchoredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExecutionRecord_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RewardLedgerEntry" (
    "id" BIGSERIAL NOT NULL,
    "requestId" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "weight" BIGINT NOT NULL,
    "uptimeFactor" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RewardLedgerEntry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_externalId_key" ON "User"("externalId");

-- CreateIndex
CREATE UNIQUE INDEX "CreditLedgerEntry_idempotencyKey_key" ON "CreditLedgerEntry"("idempotencyKey");

-- CreateIndex
CREATE INDEX "CreditLedgerEntry_userId_createdAt_idx" ON "CreditLedgerEntry"("userId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "CreditLedgerEntry_requestId_kind_key" ON "CreditLedgerEntry"("requestId", "kind");

-- CreateIndex
CREATE UNIQUE INDEX "CreditHold_requestId_key" ON "CreditHold"("requestId");

-- CreateIndex
CREATE INDEX "CreditHold_userId_status_idx" ON "CreditHold"("userId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "Node_nodeId_key" ON "Node"("nodeId");

-- CreateIndex
CREATE UNIQUE INDEX "Node_signPublicKey_key" ON "Node"("signPublicKey");

-- CreateIndex
CREATE INDEX "Node_status_lastAnnouncedAt_idx" ON "Node"("status", "lastAnnouncedAt");

-- CreateIndex
CREATE INDEX "NodePenalty_requestId_idx" ON "NodePenalty"("requestId");

-- CreateIndex
CREATE UNIQUE INDEX "NodePenalty_nodeId_requestId_reason_key" ON "NodePenalty"("nodeId", "requestId", "reason");

-- CreateIndex
CREATE INDEX "HealthSample_nodeId_at_idx" ON "HealthSample"("nodeId", "at");

-- CreateIndex
CREATE UNIQUE INDEX "InferenceRequest_requestId_key" ON "InferenceRequest"("requestId");

-- CreateIndex
CREATE UNIQUE INDEX "InferenceRequest_workflowId_key" ON "InferenceRequest"("workflowId");

-- CreateIndex
CREATE INDEX "InferenceRequest_userId_createdAt_idx" ON "InferenceRequest"("userId", "createdAt");

-- CreateIndex
CREATE INDEX "InferenceRequest_nodeId_createdAt_idx" ON "InferenceRequest"("nodeId", "createdAt");

-- CreateIndex
CREATE INDEX "InferenceRequest_status_updatedAt_idx" ON "InferenceRequest"("status", "updatedAt");

-- CreateIndex
CREATE UNIQUE INDEX "ExecutionRecord_requestId_key" ON "ExecutionRecord"("requestId");

-- CreateIndex
CREATE UNIQUE INDEX "ExecutionRecord_anchorTxHash_key" ON "ExecutionRecord"("anchorTxHash");

-- CreateIndex
CREATE INDEX "ExecutionRecord_nodeId_idx" ON "ExecutionRecord"("nodeId");

-- CreateIndex
CREATE INDEX "RewardLedgerEntry_nodeId_createdAt_idx" ON "RewardLedgerEntry"("nodeId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "RewardLedgerEntry_requestId_nodeId_key" ON "RewardLedgerEntry"("requestId", "nodeId");

-- AddForeignKey
ALTER TABLE "CreditLedgerEntry" ADD CONSTRAINT "CreditLedgerEntry_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CreditHold" ADD CONSTRAINT "CreditHold_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NodePenalty" ADD CONSTRAINT "NodePenalty_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("nodeId") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HealthSample" ADD CONSTRAINT "HealthSample_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("nodeId") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InferenceRequest" ADD CONSTRAINT "InferenceRequest_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InferenceRequest" ADD CONSTRAINT "InferenceRequest_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("nodeId") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InferenceRequest" ADD CONSTRAINT "InferenceRequest_sampledNodeId_fkey" FOREIGN KEY ("sampledNodeId") REFERENCES "Node"("nodeId") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExecutionRecord" ADD CONSTRAINT "ExecutionRecord_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "InferenceRequest"("requestId") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExecutionRecord" ADD CONSTRAINT "ExecutionRecord_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("nodeId") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RewardLedgerEntry" ADD CONSTRAINT "RewardLedgerEntry_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "InferenceRequest"("requestId") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RewardLedgerEntry" ADD CONSTRAINT "RewardLedgerEntry_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("nodeId") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Credits never go negative, whatever the code path (Prisma does not model CHECK constraints).
ALTER TABLE "User" ADD CONSTRAINT "User_balance_nonnegative" CHECK ("balance" >= 0);
ALTER TABLE "User" ADD CONSTRAINT "User_held_nonnegative" CHECK ("held" >= 0);
ALTER TABLE "CreditLedgerEntry" ADD CONSTRAINT "CreditLedgerEntry_amount_nonnegative" CHECK ("amount" >= 0);
ALTER TABLE "CreditHold" ADD CONSTRAINT "CreditHold_amounts_valid"
    CHECK ("amount" >= 0 AND "capturedAmount" >= 0 AND "releasedAmount" >= 0 AND "capturedAmount" + "releasedAmount" <= "amount");
