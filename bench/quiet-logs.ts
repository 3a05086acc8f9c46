// Imported first by run.ts: coordinator and operators log each anchor at info level, which drowns the progress lines.
process.env.PARALLELIX_LOG_LEVEL ??= 'warn';
