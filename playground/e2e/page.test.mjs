// End-to-end test of the playground page (`make playground-test`): target/playground served by
// `python3 -m http.server` on 127.0.0.1, opened in Debian's Chromium through playwright-core. Checks that
// the examples are offered in expected.json's order (the nvidia.com/v1beta1 ones first, the guide's
// sglang-agg leading), picks each and checks the findings shown (exactly those of expected.json), that a
// shared link restores the state, that typing updates the findings (in both Dynamo API versions), that no
// request leaves 127.0.0.1, that the console has no errors, and saves a screenshot to
// target/playground/screenshot.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const site = path.resolve(here, '../../target/playground');
const expected = JSON.parse(readFileSync(path.join(here, 'expected.json'), 'utf8'));
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

let server;
let origin;
let browser;
const requests = [];
const consoleErrors = [];

/** Starts python3's file server on a port the system picks, and reads the port it prints. */
function serve() {
  return new Promise((resolve, reject) => {
    server = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', site],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const timeout = setTimeout(() => reject(new Error('http.server did not start in 10 s')), 10_000);
    server.stdout.on('data', (chunk) => {
      const port = /port (\d+)/.exec(chunk.toString())?.[1];
      if (port) {
        clearTimeout(timeout);
        resolve(`http://127.0.0.1:${port}`);
      }
    });
    server.on('exit', (code) => reject(new Error(`http.server exited with ${code}`)));
  });
}

async function newPage(viewport = { width: 1400, height: 1000 }) {
  const page = await browser.newPage({ viewport });
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  return page;
}

/** The findings the page shows: one row per denial, warning and patch, in page order. */
function shownFindings(page) {
  return page.$$eval('.object', (cards) => cards.flatMap((card) =>
    [...card.querySelectorAll('.finding')].map((row) => ({
      object: card.dataset.object,
      policy: row.dataset.policy,
      decision: row.dataset.decision,
      message: row.querySelector('.message').textContent,
    }))));
}

/** expected.json's rows as the page shows them (it prints patches as `op path`). */
function asShown(rows) {
  return rows.map((row) => ({
    object: row.object,
    policy: row.policy,
    decision: row.decision,
    message: row.decision === 'patch'
      ? JSON.parse(row.message).map((op) => `${op.op} ${op.path}`).join(', ')
      : row.message,
  }));
}

/** Waits until the findings shown are those of the editors' current contents. */
function settled(page, scope = '') {
  return page.waitForSelector(`${scope} #results[data-state="done"]`, { state: 'attached' });
}

async function pickExample(page, name) {
  await page.click(`[data-example="${name}"]`);
  await settled(page, `body[data-example="${name}"]`);
}

before(async () => {
  origin = await serve();
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

test('each example shows exactly its findings, and a shared link restores it', async () => {
  const page = await newPage();
  await page.goto(`${origin}/index.html`);
  await settled(page);
  assert.equal(await page.$$eval('#policies .policy', (rows) => rows.length), 5);
  const offered = await page.$$eval('[data-example]', (buttons) => buttons.map((b) => b.dataset.example));
  assert.deepEqual(offered, Object.keys(expected), 'the example buttons, in order');
  assert.equal(offered[0], 'sglang-agg-v1beta1', "the guide's sglang-agg in nvidia.com/v1beta1 comes first");
  for (const name of offered) {
    await pickExample(page, name);
    assert.deepEqual(await shownFindings(page), asShown(expected[name]), `example ${name}`);

    const shared = await newPage();
    await shared.goto(page.url());
    await settled(shared);
    assert.equal(await shared.inputValue('#objects'), await page.inputValue('#objects'));
    assert.deepEqual(await shownFindings(shared), asShown(expected[name]), `shared link of ${name}`);
    await shared.close();
  }
  await pickExample(page, 'planner-hpa-v1beta1');
  await page.screenshot({ path: path.join(site, 'screenshot.png'), fullPage: true });
  await page.close();
});

test('editing updates the findings: settings, the policy picker and "before"', async () => {
  const page = await newPage();
  await page.goto(`${origin}/index.html`);
  await pickExample(page, 'planner-hpa');
  await page.fill('[aria-label="Settings of dynamo-single-autoscaler"]', '{"plannerConflicts": false}');
  await settled(page);
  assert.deepEqual(await shownFindings(page), [], 'plannerConflicts: false allows the HPA beside the Planner');

  await page.fill('[aria-label="Settings of dynamo-single-autoscaler"]', '{"plannerConflicts": "no"}');
  await settled(page);
  assert.equal(await page.textContent('#results .error'),
    'policy dynamo-single-autoscaler: invalid settings: plannerConflicts: invalid type: string "no", expected a boolean');

  const objects = await page.inputValue('#objects');
  const dgd = objects.split('\n---\n')[0].replace('    VllmDecodeWorker:\n', '    VllmDecodeWorker:\n      replicas: 3\n');
  await page.fill('[aria-label="Settings of dynamo-single-autoscaler"]', '');
  await page.click('summary:has-text("Before")');
  await page.fill('#before', dgd.replace('replicas: 3', 'replicas: 1'));
  await page.fill('#objects', dgd);
  await settled(page);
  const denial = (await shownFindings(page)).find((row) => row.policy === 'dynamo-replica-ownership');
  assert.deepEqual(denial, {
    object: 'DynamoGraphDeployment llm/vllm-disagg',
    policy: 'dynamo-replica-ownership',
    decision: 'denied',
    message: "spec.services[VllmDecodeWorker].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/vllm-disagg-vllmdecodeworker --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead",
  });
  await page.fill('#user', 'system:serviceaccount:llm:planner-serviceaccount');
  await settled(page);
  assert.equal((await shownFindings(page)).some((row) => row.policy === 'dynamo-replica-ownership'), false,
    "the Planner's service account may write the replicas");

  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `on a phone the page scrolls sideways by ${overflow}px`);
  await page.screenshot({ path: path.join(site, 'screenshot-phone.png'), fullPage: true });
  await page.close();
});

test('a v1beta1 edit: the first example, decode scaled by hand, then migrated from v1alpha1', async () => {
  const page = await newPage();
  await page.goto(`${origin}/index.html`);
  await settled(page);
  await page.locator('[data-example]').first().click();
  await settled(page, 'body[data-example="sglang-agg-v1beta1"]');
  assert.deepEqual(await shownFindings(page), asShown(expected['sglang-agg-v1beta1']));

  const dgd = (await page.inputValue('#objects')).split('\n---\n')[0];
  const decode = '  - name: decode\n    type: worker\n    replicas: 1\n';
  assert.ok(dgd.includes(decode), dgd);
  const scaled = dgd.replace(decode, decode.replace('replicas: 1', 'replicas: 3'));
  const denial = {
    object: 'DynamoGraphDeployment default/sglang-agg',
    policy: 'dynamo-replica-ownership',
    decision: 'denied',
    message: "spec.components[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead",
  };
  await page.click('summary:has-text("Before")');
  await page.fill('#before', dgd);
  await page.fill('#objects', scaled);
  await settled(page);
  assert.deepEqual((await shownFindings(page)).find((row) => row.policy === 'dynamo-replica-ownership'), denial);
  assert.equal(await page.textContent('.object h2'), 'DynamoGraphDeployment default/sglang-agg (UPDATE)');

  // The same DGD stored as nvidia.com/v1alpha1 before: one object, migrated, judged component by component.
  await page.fill('#before', [
    'apiVersion: nvidia.com/v1alpha1',
    'kind: DynamoGraphDeployment',
    'metadata: {name: sglang-agg, namespace: default}',
    'spec:',
    '  services:',
    '    Frontend: {componentType: frontend, replicas: 1}',
    '    decode: {componentType: worker, replicas: 1, scalingAdapter: {enabled: true}}',
    '',
  ].join('\n'));
  await settled(page);
  assert.deepEqual((await shownFindings(page)).find((row) => row.policy === 'dynamo-replica-ownership'), denial);
  await page.fill('#objects', dgd);
  await settled(page);
  assert.equal((await shownFindings(page)).some((row) => row.policy === 'dynamo-replica-ownership'), false,
    'migrating without changing replicas is allowed');
  await page.close();
});

test('nothing left 127.0.0.1 and the console stayed clean', () => {
  assert.ok(requests.length > 0);
  const outside = requests.filter((url) => !url.startsWith(`${origin}/`));
  assert.deepEqual(outside, []);
  assert.deepEqual(consoleErrors, []);
});
