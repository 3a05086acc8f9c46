-- Batched anchoring: several records share one anchoring transaction; each keeps its batch root and inclusion proof.
DROP INDEX "ExecutionRecord_anchorTxHash_key";

ALTER TABLE "ExecutionRecord" ADD COLUMN "batchRoot" TEXT,
ADD COLUMN "batchProof" JSONB;

CREATE INDEX "ExecutionRecord_anchorTxHash_idx" ON "ExecutionRecord"("anchorTxHash");

CREATE INDEX "ExecutionRecord_batchRoot_idx" ON "ExecutionRecord"("batchRoot");
