/**
 * Reproduces docs/images/temporal-ui-run.png: starts `parallelix start` on spare ports with a fresh state folder,
 * opens the first demo request's workflow page in headless Chromium, waits for the timeline and takes a
 * screenshot, then stops the stack with SIGINT.
 *
 *   npx tsx scripts/screenshot-ui.ts [out.png]     (needs /usr/bin/chromium or PARALLELIX_CHROMIUM)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { isolatedStackEnv } from '../src/devstack/isolated-stack-env.js';
import { projectRoot } from '../src/shared/paths.js';

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? path.join(projectRoot, 'docs', 'images', 'temporal-ui-run.png'));
  const state = mkdtempSync(path.join(os.tmpdir(), 'px-shot-'));
  const env = { ...process.env, ...(await isolatedStackEnv(state)) };
  const stack = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--operators', '2'], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no workflow URL after 5 minutes:\n${output}`)), 300_000);
    stack.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString();
      // The third demo request is sampled: its timeline shows the re-dispatch to a second node too.
      const urls = output.match(/http:\/\/\S+\/workflows\/request-\S+/g) ?? [];
      if (urls.length >= 3 || (urls.length > 0 && output.includes('Press Ctrl-C'))) {
        clearTimeout(timer);
        resolve(urls[urls.length - 1]!);
      }
    });
    stack.once('exit', (code) => reject(new Error(`parallelix start exited (${code}):\n${output}`)));
  });

  const browser = await chromium.launch({
    executablePath: process.env.PARALLELIX_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    // Authorise this browser at the codec server (HttpOnly cookie), so that the UI could decode payloads.
    const codecUrl = /Codec server\s+(http:\/\/\S+)/.exec(output)?.[1];
    const token = readFileSync(path.join(state, 'coordinator', 'codec-token'), 'utf8').trim();
    if (codecUrl) {
      await page.request.post(`${codecUrl}/login`, { form: { token } });
      // The UI's codec settings ("use my browser setting", include cross-origin credentials), as a user would tick them.
      await page.addInitScript((endpoint: string) => {
        type Store = { setItem(key: string, value: string): void };
        const page = globalThis as unknown as { localStorage: Store; sessionStorage: Store };
        for (const store of [page.localStorage, page.sessionStorage]) {
          store.setItem('endpoint', JSON.stringify(endpoint));
          store.setItem('includeCredentials', 'true');
          store.setItem('overrideRemoteCodecConfiguration', 'true');
        }
      }, codecUrl);
    }
    await page.goto(url, { waitUntil: 'networkidle' });
    await page.getByText('12 Anchor').first().waitFor({ timeout: 60_000 }).catch(async (error: unknown) => {
      await page.screenshot({ path: '/tmp/px-ui-debug.png' });
      process.stderr.write(`${(await page.innerText('body')).slice(0, 3000)}\n`);
      throw error;
    });
    await page.waitForTimeout(2_000);
    await page.getByText('Event History').first().scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 350);
    await page.waitForTimeout(500);
    mkdirSync(path.dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: false });
    process.stdout.write(`screenshot: ${out}\n`);
  } finally {
    await browser.close();
    stack.kill('SIGINT');
    await new Promise((resolve) => stack.once('exit', resolve));
    rmSync(state, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
