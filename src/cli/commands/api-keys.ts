import { createApiKey } from '../../gateway/api-keys.js';
import { openDatabase } from '../../config/connections.js';
import { say } from '../output.js';

/** `parallelix api-key create <userId> [label]`: issues a gateway key for a credit account and prints it once. */
export async function apiKeyCreateCommand(userId: string, label = ''): Promise<void> {
  const db = openDatabase();
  try {
    const { key, id } = await createApiKey(db, userId, label);
    say(`API key ${id} for user ${userId}${label ? ` (${label})` : ''}. It is shown only now; store it safely:`);
    say(key);
  } finally {
    await db.$disconnect();
  }
}
