import ora from 'ora';

/** Runs `work` behind a spinner on stderr when stdout is a terminal (and not `--json`); silent otherwise. */
export async function withSpinner<T>(text: string, work: () => Promise<T>, options: { json?: boolean } = {}): Promise<T> {
  const enabled = Boolean(process.stdout.isTTY) && !options.json;
  if (!enabled) return work();
  const spinner = ora({ text, stream: process.stderr }).start();
  try {
    const result = await work();
    spinner.stop();
    return result;
  } catch (error) {
    spinner.fail();
    throw error;
  }
}
