// A headless chromium driving the service's GraphiQL page, for tests/integration/test_graphiql.py.
//
// One browser for the whole test module; the test sends one JSON command a line on stdin
// and reads one JSON answer a line on stdout ({ok: true, ...} or {ok: false, error}):
//   {do: "open", url}                     a fresh page (no storage) at url, once the editor shows
//   {do: "docs", path: ["Mutation", ...]}  the Docs explorer, following links; answers its text
//   {do: "type", editor: "query" | "variables" | "headers", text}
//   {do: "run"}                           the play button; answers the result pane once filled
//   {do: "refetch"}                       re-fetches the schema (after a key is typed in)
//   {do: "settings"}                      opens and closes the settings dialog
//   {do: "storage", holding}              localStorage, once it holds that text
//   {do: "report"}                        what the browser saw since "open" (below)
//
// Every request is intercepted: one to another origin is refused before it leaves and
// recorded, so a page that still reached for a CDN shows up here even with no network.
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

let context = null;
let page = null;
let seen = null;

const EDITORS = {
  query: '.graphiql-query-editor .CodeMirror',
  variables: '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror',
  headers: '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror',
};
const TOOL_TABS = { variables: 'Variables', headers: 'Headers' };
const RESULT = '.result-window .CodeMirror';
const TAB_STATE_MS = 300;

async function open({ url }) {
  await context?.close();
  context = await browser.newContext();
  page = await context.newPage();
  const origin = new URL(url).origin;
  seen = {
    violations: [],
    consoleErrors: [],
    pageErrors: [],
    failedRequests: [],
    foreignRequests: [],
    errorResponses: [],
    requests: [],
  };
  await page.exposeFunction('reportViolation', (violation) => seen.violations.push(violation));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) =>
      window.reportViolation({
        directive: event.effectiveDirective,
        blocked: event.blockedURI,
        source: event.sourceFile,
        sample: event.sample,
      }),
    );
  });
  await page.route('**/*', (route) => {
    const request = route.request();
    if (new URL(request.url()).origin !== origin) {
      seen.foreignRequests.push(request.url());
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  page.on('request', (request) => seen.requests.push(`${request.method()} ${request.url()}`));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => seen.pageErrors.push(String(error)));
  page.on('requestfailed', (request) =>
    seen.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400) seen.errorResponses.push(`${response.status()} ${response.url()}`);
  });
  const answer = await page.goto(url);
  try {
    await page.locator(EDITORS.query).waitFor({ state: 'visible', timeout: 20000 });
  } catch (error) {
    const { requests, ...problems } = seen;
    throw new Error(`no editor on the page: ${JSON.stringify(problems)}\n${error}`);
  }
  return { status: answer.status(), title: await page.title() };
}

async function docs({ path }) {
  const explorer = page.locator('.graphiql-doc-explorer');
  if (!(await explorer.isVisible())) {
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
  }
  await explorer.waitFor({ state: 'visible' });
  for (const name of path) {
    // The schema arrives by introspection after the page loads: wait for each link.
    await explorer.getByRole('link', { name, exact: true }).first().click({ timeout: 10000 });
    await explorer.locator('.graphiql-doc-explorer-title', { hasText: name }).waitFor();
  }
  const title = await explorer.locator('.graphiql-doc-explorer-title').innerText();
  return { title, text: await explorer.innerText() };
}

async function type({ editor, text }) {
  if (editor in TOOL_TABS) {
    await page.getByRole('button', { name: TOOL_TABS[editor], exact: true }).click();
  }
  await page.locator(EDITORS[editor]).click();
  await page.keyboard.press('ControlOrMeta+A');
  // As a paste types it: no auto-closed brackets or completions added on the way.
  await page.keyboard.insertText(text);
  // GraphiQL copies an editor into its tab's state (what its history records) 100 ms after
  // the last change; a person takes longer than that to reach the play button.
  await page.waitForTimeout(TAB_STATE_MS);
  return { value: await editorValue(EDITORS[editor]) };
}

async function run() {
  const before = await editorValue(RESULT);
  const answered = page.waitForResponse(
    (response) =>
      response.request().method() === 'POST' &&
      !(response.request().postData() ?? '').includes('IntrospectionQuery'),
  );
  await page.locator('.graphiql-execute-button').click();
  const response = await answered;
  await page.waitForFunction(
    ([selector, previous]) => {
      const value = document.querySelector(selector).CodeMirror.getValue();
      return value.trim() !== '' && value !== previous;
    },
    [RESULT, before],
  );
  return {
    status: response.status(),
    value: await editorValue(RESULT),
    shown: await page.locator('.result-window').innerText(),
  };
}

async function refetch() {
  const answered = page.waitForResponse(
    (response) => (response.request().postData() ?? '').includes('IntrospectionQuery'),
  );
  await page.getByRole('button', { name: 'Re-fetch GraphQL schema' }).click();
  return { status: (await answered).status() };
}

async function settings() {
  await page.getByRole('button', { name: 'Open settings dialog' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ state: 'visible' });
  const text = await dialog.innerText();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  return { text };
}

async function storage({ holding }) {
  // GraphiQL writes some of it a moment after the fact (its history, after a run).
  await page.waitForFunction(
    (text) => JSON.stringify({ ...window.localStorage }).includes(text),
    holding,
  );
  return { entries: await page.evaluate(() => ({ ...window.localStorage })) };
}

async function report() {
  // Let anything the last step started (a font, an icon) arrive before reading.
  await page.waitForLoadState('networkidle');
  return seen;
}

function editorValue(selector) {
  return page.locator(selector).evaluate((element) => element.CodeMirror.getValue());
}

const COMMANDS = { open, docs, type, run, refetch, settings, storage, report };

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  let answer;
  try {
    answer = { ok: true, ...(await COMMANDS[command.do](command)) };
  } catch (error) {
    answer = { ok: false, error: String(error?.stack ?? error) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
await browser.close();
