import { z } from 'zod';

/** Limits a request must respect at the edge (SDK, gateway, CLI) and again in step 01. */
export const MAX_MESSAGES = 256;
export const MAX_MESSAGE_CHARS = 200_000;
export const MAX_NEW_TOKENS = 32_768;

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(MAX_MESSAGE_CHARS),
});

/** The shape of an inference request; the workflow input is this minus the idempotency key. */
export const inferenceRequestSchema = z.object({
  userId: z.string().min(1).max(200),
  model: z.string().min(1).max(200),
  messages: z.array(chatMessageSchema).min(1).max(MAX_MESSAGES),
  maxNewTokens: z.number().int().positive().max(MAX_NEW_TOKENS),
  sampleProbability: z.number().min(0).max(1).optional(),
  sampleMode: z.enum(['exact', 'tolerant']).optional(),
});

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`).join('; ');
}
