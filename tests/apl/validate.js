#!/usr/bin/env node
// Validates APL documents with apl-suggester, as a whole and once per viewport profile.
//
// stdin: {"cases": [{"name", "document", "datasources"}], "profiles": ["hubRound", ...]}
// stdout: {"profiles": {id: [device, ...]}, "cases": [{"name", "warnings", "viewports": [...]}]}
//
// Per viewport (each example device of each profile, from apl-suggester's own profile list)
// the document is resolved the way a device would: `when` conditions on resources and
// components are evaluated against that viewport, single-child components (Frame,
// TouchWrapper, ScrollView) keep their first matching child, and the resolved document is
// validated again. Reported with it: which layout was chosen, the font size of every Text
// with an id (dp), and every `${night.x}` binding that the datasource does not provide.
'use strict';

const { StaticAplTemplateValidator, getViewportProfiles } = require('apl-suggester');

const SINGLE_CHILD = new Set(['Frame', 'TouchWrapper', 'ScrollView']);
const SAFE = /^[\s\w.'<>=!&|()]*$/;

function evaluate(when, viewport) {
  if (typeof when === 'boolean') return when;
  const match = /^\$\{([\s\S]*)\}$/.exec(String(when).trim());
  if (!match || !SAFE.test(match[1])) throw new Error(`cannot evaluate when: ${when}`);
  const names = match[1].replace(/'[^']*'/g, '').match(/[A-Za-z_][\w.]*/g) || [];
  for (const name of names) {
    if (!name.startsWith('viewport.') && !['true', 'false'].includes(name)) {
      throw new Error(`unknown name ${name} in when: ${when}`);
    }
  }
  // eslint-disable-next-line no-new-func
  return Boolean(new Function('viewport', `return (${match[1]});`)(viewport));
}

function resources(document, viewport) {
  const merged = { dimensions: {}, colors: {} };
  for (const block of document.resources || []) {
    if (block.when !== undefined && !evaluate(block.when, viewport)) continue;
    Object.assign(merged.dimensions, block.dimensions || {});
    Object.assign(merged.colors, block.colors || {});
  }
  return merged;
}

function prune(node, viewport) {
  if (Array.isArray(node)) return node.map((n) => prune(n, viewport));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'when') continue;
    if ((key === 'items' || key === 'item') && typeof node.type === 'string') {
      const children = (Array.isArray(value) ? value : [value])
        .filter((c) => c.when === undefined || evaluate(c.when, viewport))
        .map((c) => prune(c, viewport));
      out[key] = SINGLE_CHILD.has(node.type) ? children.slice(0, 1) : children;
      if (key === 'item') out[key] = out[key][0];
      continue;
    }
    out[key] = prune(value, viewport);
  }
  return out;
}

function texts(node, found) {
  if (Array.isArray(node)) node.forEach((n) => texts(n, found));
  else if (node && typeof node === 'object') {
    if (node.type === 'Text' && node.id) found.push(node);
    Object.values(node).forEach((v) => texts(v, found));
  }
  return found;
}

function dp(value, dims, viewport) {
  const raw = typeof value === 'string' && value.startsWith('@') ? dims[value.slice(1)] : value;
  const m = /^([\d.]+)(dp|vw|vh)?$/.exec(String(raw));
  if (!m) return null;
  const n = Number(m[1]);
  if (m[2] === 'vw') return (n * viewport.width) / 100;
  if (m[2] === 'vh') return (n * viewport.height) / 100;
  return n;
}

function unbound(document, datasources) {
  const missing = new Set();
  const text = JSON.stringify(document);
  for (const m of text.matchAll(/\$\{[^}]*\}/g)) {
    for (const ref of m[0].matchAll(/\b(\w+)\.(\w+)/g)) {
      const [, source, key] = ref;
      if (source === 'viewport') continue;
      const data = datasources[source];
      if (data === undefined || !(key in data)) missing.add(`${source}.${key}`);
    }
  }
  for (const m of text.matchAll(/"@(\w+)"/g)) {
    const name = m[1];
    const known = (document.resources || []).some(
      (b) => name in (b.dimensions || {}) || name in (b.colors || {}),
    );
    if (!known) missing.add(`@${name}`);
  }
  return [...missing].sort();
}

async function main() {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const validator = new StaticAplTemplateValidator();
  const all = getViewportProfiles();
  const profiles = {};
  for (const id of input.profiles) {
    const profile = all.get(id);
    if (!profile) throw new Error(`apl-suggester has no viewport profile ${id}`);
    profiles[id] = profile.exampleDevices.map((d) => ({
      id: d.id, width: d.width, height: d.height, dpi: d.dpi, shape: profile.shape, mode: profile.mode,
    }));
  }
  const { log, warn } = console;
  const cases = [];
  for (const c of input.cases) {
    // apl-suggester prints "No mixin for component" notes of its own.
    console.log = () => {};
    console.warn = () => {};
    const warnings = [
      ...(await validator.validate(c.document)),
      ...(await validator.validateDataSources(c.datasources)),
    ];
    const viewports = [];
    for (const [profile, devices] of Object.entries(profiles)) {
      for (const viewport of devices) {
        const resolved = prune(c.document, viewport);
        const dims = resources(c.document, viewport).dimensions;
        const root = resolved.mainTemplate.items[0];
        const layout = root.items ? root.items[0] : root.item;
        viewports.push({
          profile,
          device: viewport,
          warnings: await validator.validate(resolved),
          layout: layout ? layout.description || layout.type : null,
          sizes: Object.fromEntries(
            texts(resolved.mainTemplate, []).map((t) => [t.id, dp(t.fontSize, dims, viewport)]),
          ),
          unbound: unbound(resolved, c.datasources),
        });
      }
    }
    console.log = log;
    console.warn = warn;
    cases.push({ name: c.name, warnings, viewports });
  }
  process.stdout.write(JSON.stringify({ profiles, cases }));
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(2);
});
