// The playground page: the editors' state goes to the wasm `check` (scaleguard check's engine and the
// policies' own decision functions); its report is shown as findings grouped by object.
import init, { check } from './scaleguard_playground.js';

const $ = (id) => document.getElementById(id);
const editors = { objects: $('objects'), before: $('before'), user: $('user'), groups: $('groups') };
const results = $('results');
const rows = new Map(); // policy name -> {checkbox, settings}
let timer;

/** The page's state: what the editors hold. */
function state() {
  const settings = {};
  const policies = [];
  for (const [name, row] of rows) {
    if (row.checkbox.checked) policies.push(name);
    if (row.settings.value.trim()) settings[name] = row.settings.value;
  }
  return {
    objects: editors.objects.value,
    before: editors.before.value,
    user: editors.user.value.trim() || undefined,
    groups: editors.groups.value.split(',').map((g) => g.trim()).filter(Boolean),
    policies: rows.size ? policies : undefined,
    settings,
  };
}

function restore(saved) {
  editors.objects.value = saved.objects ?? '';
  editors.before.value = saved.before ?? '';
  editors.user.value = saved.user ?? '';
  editors.groups.value = (saved.groups ?? []).join(', ');
  $('before-box').open = Boolean(saved.before);
  for (const [name, row] of rows) {
    row.checkbox.checked = !saved.policies || saved.policies.includes(name);
    row.settings.value = saved.settings?.[name] ?? '';
  }
}

// The state lives in the URL fragment (base64url of its JSON), so a link shares it.
function encode(value) {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decode(text) {
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function finding(record, decision, message) {
  const row = element('li', `finding ${decision}`);
  row.dataset.policy = record.policy;
  row.dataset.decision = decision;
  const code = decision === 'denied' && record.code !== null ? ` (${record.code})` : '';
  row.append(element('span', 'decision', decision), element('span', 'policy', record.policy + code),
    element('span', 'message', message));
  return row;
}

function render(report) {
  results.replaceChildren();
  for (const error of report.settingsErrors) {
    results.append(element('p', 'error', error.message));
  }
  for (const error of report.errors) {
    const where = error.line ? `${error.file} line ${error.line}: ` : `${error.file}: `;
    results.append(element('p', 'error', where + error.message));
  }
  const groups = new Map();
  for (const record of report.results) {
    const key = `${record.index}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(record);
  }
  for (const records of groups.values()) {
    const first = records[0];
    const card = element('article', 'object');
    const name = first.namespace ? `${first.namespace}/${first.name}` : first.name;
    const update = first.operation === 'UPDATE' ? ' (UPDATE)' : '';
    card.dataset.object = `${first.kind} ${name}`;
    card.append(element('h2', null, `${first.kind} ${name}${update}`),
      element('small', null, `document #${first.index}, line ${first.line}`));
    const list = element('ul');
    for (const record of records) {
      if (!record.allowed) list.append(finding(record, 'denied', record.message ?? ''));
      for (const warning of record.warnings) list.append(finding(record, 'warning', warning));
      if (record.patch) {
        const ops = record.patch.map((op) => `${op.op} ${op.path}`).join(', ');
        list.append(finding(record, 'patch', ops));
      }
    }
    const clean = records.filter((r) => r.allowed && !r.warnings.length && !r.patch);
    if (clean.length) {
      list.append(element('li', 'allowed', `allowed by ${clean.map((r) => r.policy).join(', ')}`));
    }
    card.append(list);
    results.append(card);
  }
  const s = report.summary;
  $('summary').textContent = s.documents
    ? `${s.documents} object${s.documents === 1 ? '' : 's'}, ${s.evaluations} evaluations: `
      + `${s.denied} denied, ${s.warned} with warnings, ${s.mutated} patches`
    : 'Paste objects, or pick an example.';
  $('text').textContent = report.text;
  results.dataset.state = 'done';
}

function run() {
  clearTimeout(timer);
  const current = state();
  render(JSON.parse(check(JSON.stringify(current))));
  history.replaceState(null, '', `#${encode(current)}`);
}

function schedule() {
  results.dataset.state = 'pending';
  clearTimeout(timer);
  timer = setTimeout(run, 250);
}

function policyRows(policies) {
  const template = $('policy-row');
  for (const policy of policies) {
    const row = template.content.firstElementChild.cloneNode(true);
    row.querySelector('.name').textContent = policy.name;
    row.querySelector('.description').textContent = policy.description;
    const settings = row.querySelector('.settings');
    settings.setAttribute('aria-label', `Settings of ${policy.name}`);
    rows.set(policy.name, { checkbox: row.querySelector('input'), settings });
    $('policies').append(row);
  }
}

async function example(name) {
  const response = await fetch(`examples/${name}.yaml`);
  restore({ objects: await response.text() });
  run();
  document.body.dataset.example = name;
}

async function main() {
  await init();
  const catalogue = JSON.parse(check(JSON.stringify({ policies: [] })));
  policyRows(catalogue.policies);
  const saved = decode(location.hash.slice(1));
  if (saved) restore(saved);
  run();
  document.querySelector('main').addEventListener('input', schedule);
  for (const button of document.querySelectorAll('[data-example]')) {
    button.addEventListener('click', () => example(button.dataset.example));
  }
  $('share').addEventListener('click', async () => {
    run();
    try {
      await navigator.clipboard.writeText(location.href);
      $('share').textContent = 'Link copied';
    } catch {
      $('share').textContent = 'Copy the address bar';
    }
  });
}

main().catch((error) => {
  $('summary').textContent = `The playground could not start: ${error}`;
  results.dataset.state = 'failed';
});
