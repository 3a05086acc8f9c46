-- AlterTable
ALTER TABLE "InferenceRequest" ADD COLUMN     "runId" TEXT;
