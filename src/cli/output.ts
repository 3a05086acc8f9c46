/** Human-facing progress lines of the CLI (stdout). Structured logs go to stderr through pino. */
export function say(message: string): void {
  process.stdout.write(`${message}\n`);
}

export function step(component: string): (message: string) => void {
  return (message) => say(`[${component}] ${message}`);
}
