-- Batched anchoring: each batch and its members are written before the batch's transaction is sent.
CREATE TABLE "AnchorBatch" (
    "root" TEXT NOT NULL,
    "packed" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AnchorBatch_pkey" PRIMARY KEY ("root")
);

CREATE TABLE "AnchorBatchMember" (
    "requestId" TEXT NOT NULL,
    "root" TEXT NOT NULL,
    "position" INTEGER NOT NULL,

    CONSTRAINT "AnchorBatchMember_pkey" PRIMARY KEY ("requestId")
);

CREATE INDEX "AnchorBatchMember_root_idx" ON "AnchorBatchMember"("root");

ALTER TABLE "AnchorBatchMember" ADD CONSTRAINT "AnchorBatchMember_root_fkey" FOREIGN KEY ("root") REFERENCES "AnchorBatch"("root") ON DELETE RESTRICT ON UPDATE CASCADE;
